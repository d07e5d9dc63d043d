from incrinstall.cli import main

raise SystemExit(main())
