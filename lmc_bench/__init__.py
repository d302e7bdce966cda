"""lmc-bench: reproduce the claims of Hepburn, Zielke, Raulf, "Linear Mode Connectivity under
Data Shifts for Deep Ensembles of Image Classifiers"."""

__version__ = "0.1.0"
