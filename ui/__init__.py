"""The Gradio chat app: `rag ui` (see ui/app.py)."""
