"""Logistics: where every specimen is — shipments from the regions, storage, retrieval, disposal."""
