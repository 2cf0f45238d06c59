from app.adapters.cli import main

raise SystemExit(main())
