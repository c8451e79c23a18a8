"""HTTP/1.1 on h11 with the socket in our hands (for faults), request/response values and routing."""
