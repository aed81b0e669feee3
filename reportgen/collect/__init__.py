"""Live collectors. ``collect_graph`` reads one tenant from Microsoft Graph into an evidence folder."""
from reportgen.collect.errors import CollectionError
from reportgen.collect.graph import collect_graph

__all__ = ["CollectionError", "collect_graph"]
