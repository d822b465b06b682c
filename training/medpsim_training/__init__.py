"""medpsim_training: PyTorch training of the models medpsim runs through ONNX.

- train-classifier: ResNet50 NORMAL/PNEUMONIA classifier whose deep features are the perceptual metric;
- train-dae: the denoising-autoencoder baseline of the CNN-based distortions;
- train-gan: the conditional GAN (pix2pix-like) that learns to distort a given image like a traditional
  distortion of the native engine;
- export-backbone: an ImageNet backbone (with LPIPS's lin weights) as a deep metric;
- fit-lin: LPIPS's lin weights of a deep-metric model learned from a study's 2AFC judgments.

Each command logs JSON lines on stdout, writes an ONNX model, a manifest and parity data beside it.
"""

__version__ = "0.1.0"
