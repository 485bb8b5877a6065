"""The services of the two clients: each method runs a plan of the I/O-free
core, through the sync driver (``Users``) or the async one (``AsyncUsers``)."""
