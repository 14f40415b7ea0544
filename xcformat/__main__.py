try:
    from .cli import main
except KeyboardInterrupt:      # Ctrl-C while Python is still loading the program
    raise SystemExit(130) from None

raise SystemExit(main())
