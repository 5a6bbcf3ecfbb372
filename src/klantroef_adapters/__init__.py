"""Adapters: the outside world behind Klantroef's ports, and the container that wires them."""
