"""A tiny stand-in for the ArangoDB service: stores documents as graph nodes."""

COLLECTION = "documents"  # one vertex per document, key = SHA-256 of the source file
EDGES = "contains"           # document -> section -> block edges


def ingest_markdown(doc: dict) -> str:
    """Stores a markdown_document ({"source", "markdown", "images"}) and
    returns its document key. Sections (## headings) become their own
    vertices linked by EDGES (see the descriptor's context)."""
    raise NotImplementedError("example only")
