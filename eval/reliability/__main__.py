from eval.reliability.cli import main

raise SystemExit(main())
