#!/bin/sh
# The guest: fills a tmpfs file with a pattern every page of which names itself, then prints a
# counter every second and re-checks the pattern's checksum every fifth tick.  A restored guest
# shows it ran on by counting on from where it was, with the checksum unchanged.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t devtmpfs devtmpfs /dev
echo "xcfguest booted"
pages=$(sed -n 's/.*xcfpages=\([0-9]*\).*/\1/p' /proc/cmdline)
seed=$(sed -n 's/.*xcfseed=\([0-9a-f]*\).*/\1/p' /proc/cmdline)
mkdir /pattern
mount -t tmpfs -o size=$((pages * 4 + 64))k tmpfs /pattern
# Page p holds 64 lines of 64 bytes: "xcfpat page <p> seed <seed> line <k> " padded with dots.
awk -v pages="$pages" -v seed="$seed" 'BEGIN {
    dots = "................................................................"
    for (p = 0; p < pages; p++)
        for (k = 0; k < 64; k++) {
            line = sprintf("xcfpat page %08d seed %s line %02d ", p, seed, k)
            printf "%s%s\n", line, substr(dots, 1, 63 - length(line))
        }
}' >/pattern/data
sum=$(md5sum /pattern/data | cut -d' ' -f1)
echo "xcfguest pattern pages=$pages seed=$seed md5=$sum"
i=0
while :; do
    echo "xcfguest tick $i"
    if [ $((i % 5)) = 0 ]; then
        now=$(md5sum /pattern/data | cut -d' ' -f1)
        if [ "$now" = "$sum" ]; then echo "xcfguest pattern ok $i $now"; else echo "xcfguest pattern BAD $i $now"; fi
    fi
    i=$((i + 1))
    sleep 1
done
