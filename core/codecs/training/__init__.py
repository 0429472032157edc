"""Codec training: the fixed take split and part datasets (dataset), one fitter per family
(kmeans_fit, rqvae_fit), the bundle's figures and notes (fitted), and `train.train_codec`."""
