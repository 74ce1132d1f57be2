"""peerlearn ontology: Turtle files shipped as package data."""
