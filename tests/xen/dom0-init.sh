#!/bin/sh
# dom0's init: load the drivers, enter the host's root file system (shared read-only by QEMU
# over 9p) with writable scratch directories, and run the job's session script there.  The job
# directory is a second, writable 9p share, mounted at /tmp/xenvm.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
echo "xenvm: dom0 init, loading modules"
for module in /modules/*.ko; do
    insmod "$module" || echo "xenvm: insmod $module failed"
done
host=/mnt
opts=trans=virtio,version=9p2000.L,msize=512000
if ! mount -t 9p -o "$opts,ro,cache=loose" hostroot "$host"; then
    echo "xenvm: cannot mount the host root"; poweroff -f
fi
# Scratch directories (vm.DOM0_SCRATCH): a checkout beneath one is hidden from dom0.
for dir in run tmp var/lib var/log; do
    mount -t tmpfs -o mode=755 tmpfs "$host/$dir"
done
chmod 1777 "$host/tmp"
mount -t proc proc "$host/proc" || echo "xenvm: proc mount failed"
mount -t sysfs sysfs "$host/sys" || echo "xenvm: sysfs mount failed"
mount -t devtmpfs devtmpfs "$host/dev" || echo "xenvm: devtmpfs mount failed"
mkdir -p "$host/dev/pts" "$host/dev/shm"
mount -t devpts devpts "$host/dev/pts"
mount -t tmpfs tmpfs "$host/dev/shm"
# devtmpfs has no /dev/std* links: without them "xl save d /dev/stdout" writes a regular file.
for fd in 0:stdin 1:stdout 2:stderr; do ln -sf "/proc/self/fd/${fd%%:*}" "$host/dev/${fd#*:}"; done
ln -sf /proc/self/fd "$host/dev/fd"
mount -t xenfs xenfs "$host/proc/xen"
mkdir -p "$host/tmp/xenvm"
mount -t 9p -o "$opts" job "$host/tmp/xenvm"
cat /proc/mounts
ls /proc/xen /mnt/proc/xen
echo "xenvm: entering the host root at $(cut -d' ' -f1 /proc/uptime) s"
chroot "$host" /bin/sh /tmp/xenvm/session.sh
echo "xenvm: session ended"
sync
umount "$host/tmp/xenvm"
poweroff -f
