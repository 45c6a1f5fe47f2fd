from kb.passage_retriever import build_passage_retriever

__all__ = ["build_passage_retriever"]
