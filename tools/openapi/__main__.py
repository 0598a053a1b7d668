from tools.openapi.generate import main

raise SystemExit(main())
