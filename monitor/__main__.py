"""Run the wirewatch command line as ``python -m monitor``."""

from monitor.cli import main

main()
