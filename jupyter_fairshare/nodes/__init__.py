"""Community nodes: a machine joins a pool's site as a Dask worker with one command."""
