"""The `hotline` command line: database, workers, flows, simulator, running everything."""
