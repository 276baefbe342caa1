import sys

from mnist_edge.cli import main

sys.exit(main())
