"""`python -m data.ingest FEED_DIR --date YYYY-MM-DD [--replace]`"""
import sys

from data.ingest import main

sys.exit(main())
