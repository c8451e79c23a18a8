"""The HTTP layer: endpoint definitions, shared decoding and retry policy, and two thin transports."""
