"""What both paths share: settings, errors, the model catalogue, languages, sentences and words.

`index/` (the write path) and `rag/` (the read path) import from here; this package imports neither.
"""
