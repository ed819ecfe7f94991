from latentgap.cli import main

raise SystemExit(main())
