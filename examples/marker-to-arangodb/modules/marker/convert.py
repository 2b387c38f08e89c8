"""A tiny stand-in for marker: turns a PDF into a markdown_document."""


def convert_document(pdf_path: str) -> dict:
    """Returns {"source": pdf_path, "markdown": str, "images": [str]}."""
    text = f"# {pdf_path}\n\n(extracted text would be here)\n"
    return {"source": pdf_path, "markdown": text, "images": []}
