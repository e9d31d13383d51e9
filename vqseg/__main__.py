from vqseg.cli import main

raise SystemExit(main())
