"""Storage engines behind the ports, chosen by URL scheme (see `registry`)."""
