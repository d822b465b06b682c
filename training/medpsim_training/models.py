"""The networks: ResNet50 classifier with its feature layers, the denoising autoencoder, the pix2pix-style
generator and discriminator, and the fixed feature extractors of the GAN's feature loss.

Every exported network takes greyscale float32 NCHW in [0, 1] (the native engine's pixel format), so the
server feeds its planar buffers unchanged; any rescaling (ImageNet normalisation, [-1, 1]) is in the graph.
"""
import torch
import torch.nn as nn
import torchvision

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
CLASSES = ("NORMAL", "PNEUMONIA")  # output order of the classifier's logits; PNEUMONIA is the positive class
FEATURE_LAYERS = ("conv1", "layer1", "layer2", "layer3", "layer4")
FEATURE_CHANNELS = {"conv1": 64, "layer1": 256, "layer2": 512, "layer3": 1024, "layer4": 2048}
FEATURE_STRIDES = {"conv1": 2, "layer1": 4, "layer2": 8, "layer3": 16, "layer4": 32}


class ChestClassifier(nn.Module):
    """torchvision's ResNet50 (a real one) with a 2-class head.

    forward(x) takes (N, 1, H, W) in [0, 1], repeats the grey channel three times and applies ImageNet's
    normalisation (the weights' training statistics), and returns (logits, conv1 after ReLU, layer1..layer4):
    the layers a deep perceptual metric (LPIPS-style) compares.
    """

    def __init__(self, num_classes=len(CLASSES)):
        super().__init__()
        self.net = torchvision.models.resnet50(weights=None)
        self.net.fc = nn.Linear(self.net.fc.in_features, num_classes)
        # Not persistent: constants of the preprocessing, not learnt state.
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def forward(self, x, with_features=True):
        n = self.net
        x = torch.cat([x, x, x], dim=1)
        x = (x - self.mean) / self.std
        f0 = n.relu(n.bn1(n.conv1(x)))
        f1 = n.layer1(n.maxpool(f0))
        f2 = n.layer2(f1)
        f3 = n.layer3(f2)
        f4 = n.layer4(f3)
        logits = n.fc(torch.flatten(n.avgpool(f4), 1))
        if not with_features:
            return logits
        return logits, f0, f1, f2, f3, f4


class DenoisingAutoencoder(nn.Module):
    """A plain convolutional encoder-decoder (no skip connections, so it cannot copy its input through).

    depth stride-2 convolutions halve the size each; H and W must be multiples of 2^depth.
    """

    def __init__(self, depth=3, channels=32):
        super().__init__()
        widths = [min(channels * 2**i, channels * 8) for i in range(depth)]
        enc, c_in = [], 1
        for c in widths:
            enc += [nn.Conv2d(c_in, c, 3, stride=2, padding=1), nn.ReLU(inplace=True), nn.Conv2d(c, c, 3, padding=1), nn.ReLU(inplace=True)]
            c_in = c
        dec = []
        for i in range(depth - 1, -1, -1):
            c_out = widths[i - 1] if i > 0 else channels
            dec += [nn.ConvTranspose2d(widths[i], c_out, 4, stride=2, padding=1), nn.ReLU(inplace=True)]
        dec += [nn.Conv2d(channels, 1, 3, padding=1), nn.Sigmoid()]
        self.encoder = nn.Sequential(*enc)
        self.decoder = nn.Sequential(*dec)
        self.size_multiple = 2**depth

    def forward(self, x):
        return self.decoder(self.encoder(x))


def norm_layer(kind, channels):
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)
    if kind == "none":
        return nn.Identity()
    raise ValueError(f"unknown normalisation {kind!r} (batch, instance, none)")


def up_layer(kind, c_in, c_out, stride, bias):
    if stride == 1:
        if kind == "transpose":
            return nn.ConvTranspose2d(c_in, c_out, 3, stride=1, padding=1, bias=bias)
        return nn.Conv2d(c_in, c_out, 3, padding=1, bias=bias)
    if kind == "transpose":
        return nn.ConvTranspose2d(c_in, c_out, 4, stride=2, padding=1, bias=bias)
    if kind in ("nearest", "bilinear"):
        up = nn.Upsample(scale_factor=2, mode=kind, align_corners=False if kind == "bilinear" else None)
        return nn.Sequential(up, nn.Conv2d(c_in, c_out, 3, padding=1, bias=bias))
    raise ValueError(f"unknown upsampling {kind!r} (transpose, nearest, bilinear)")


class UNetGenerator(nn.Module):
    """pix2pix's U-Net with the knobs of the study's Table 1.

    Levels: the encoder e_0 = input, e_{i+1} = down_i(e_i) for i < layers (down_0 with first_stride, the
    others stride 2); the decoder d_layers = e_layers, d_i = up_i(d_{i+1} [+ e_{i+1} if level i+1 has a
    skip]). Level 1 is the highest (full or half resolution), level layers-1 the deepest that can skip.
    - skips: how many levels have skip connections, deepest first (pix2pix: all, layers - 1);
    - force_top_skip: level 1 always skips (the "forced skip at the highest layer");
    - dropout_layers: how many of the deepest decoder layers apply dropout 0.5 while training (pix2pix and
      the default: 3, at most layers - 1);
      the export is in eval mode, so the exported generator is deterministic;
    - upsample: transpose (ConvTranspose 4x4) or nearest/bilinear upsampling + 3x3 conv;
    - norm: batch, instance or none (not on the first and the deepest encoder layers, as in pix2pix);
    - first_stride: 2 (pix2pix) or 1 (the first layer keeps full resolution);
    - ngf: channels of the first layer, doubled per level up to 8x.
    Input (N, 1, H, W) in [0, 1] -> output (N, 1, H, W) in [0, 1]; H, W multiples of size_multiple.
    """

    def __init__(self, layers=6, ngf=64, skips=None, force_top_skip=False, dropout_layers=None, upsample="transpose",
                 norm="batch", first_stride=2, channels=1):
        super().__init__()
        if layers < 2:
            raise ValueError("the generator needs at least 2 layers")
        if first_stride not in (1, 2):
            raise ValueError("first-layer stride must be 1 or 2")
        skips = layers - 1 if skips is None else skips
        dropout_layers = min(3, layers - 1) if dropout_layers is None else dropout_layers
        if not 0 <= skips <= layers - 1:
            raise ValueError(f"skip connections must be in 0..{layers - 1} for {layers} layers")
        if not 0 <= dropout_layers <= layers - 1:
            raise ValueError(f"layers with dropout must be in 0..{layers - 1} for {layers} layers")
        self.layers = layers
        self.skip_levels = sorted(set(range(layers - 1, layers - 1 - skips, -1)) | ({1} if force_top_skip else set()))
        self.dropout_levels = sorted(range(layers - 1, layers - 1 - dropout_layers, -1))  # decoder up_i indices
        bias = norm != "batch"  # a bias before batch norm is redundant
        ch = [channels] + [min(ngf * 2**i, ngf * 8) for i in range(layers)]
        downs = []
        for i in range(layers):
            stride = first_stride if i == 0 else 2
            conv = nn.Conv2d(ch[i], ch[i + 1], 4 if stride == 2 else 3, stride=stride, padding=1, bias=bias or i in (0, layers - 1))
            if i == 0:
                downs.append(conv)
            else:
                block = [nn.LeakyReLU(0.2), conv]
                if i < layers - 1:
                    block.append(norm_layer(norm, ch[i + 1]))
                downs.append(nn.Sequential(*block))
        ups = []
        for i in range(layers):
            c_in = ch[i + 1] * (2 if (i + 1) in self.skip_levels else 1)
            stride = first_stride if i == 0 else 2
            if i == 0:
                ups.append(nn.Sequential(nn.ReLU(), up_layer(upsample, c_in, channels, stride, True), nn.Tanh()))
            else:
                block = [nn.ReLU(), up_layer(upsample, c_in, ch[i], stride, bias), norm_layer(norm, ch[i])]
                if i in self.dropout_levels:
                    block.append(nn.Dropout(0.5))
                ups.append(nn.Sequential(*block))
        self.downs = nn.ModuleList(downs)
        self.ups = nn.ModuleList(ups)
        self.size_multiple = 2 ** (layers - (1 if first_stride == 1 else 0))

    def forward(self, x):
        e = [x * 2.0 - 1.0]
        for down in self.downs:
            e.append(down(e[-1]))
        d = e[-1]
        for i in range(self.layers - 1, -1, -1):
            if (i + 1) in self.skip_levels:
                d = torch.cat([d, e[i + 1]], dim=1)
            d = self.ups[i](d)
        return (d + 1.0) * 0.5


class PatchDiscriminator(nn.Module):
    """pix2pix's PatchGAN: judges overlapping patches of the (original, distorted) pair; logits out."""

    def __init__(self, layers=3, ndf=64, norm="batch", channels=2):
        super().__init__()
        bias = norm != "batch"
        seq = [nn.Conv2d(channels, ndf, 4, stride=2, padding=1), nn.LeakyReLU(0.2)]
        mult = 1
        for n in range(1, layers):
            prev, mult = mult, min(2**n, 8)
            seq += [nn.Conv2d(ndf * prev, ndf * mult, 4, stride=2, padding=1, bias=bias), norm_layer(norm, ndf * mult), nn.LeakyReLU(0.2)]
        prev, mult = mult, min(2**layers, 8)
        seq += [nn.Conv2d(ndf * prev, ndf * mult, 4, stride=1, padding=1, bias=bias), norm_layer(norm, ndf * mult), nn.LeakyReLU(0.2)]
        seq += [nn.Conv2d(ndf * mult, 1, 4, stride=1, padding=1)]
        self.net = nn.Sequential(*seq)
        self.layers = layers

    @staticmethod
    def min_size(layers):
        # layers stride-2 convolutions, then two 4x4 stride-1 convolutions that shrink by 1 each.
        return 3 * 2**layers

    def forward(self, original, distorted):
        return self.net(torch.cat([original, distorted], dim=1) * 2.0 - 1.0)


class RandomConvFeatures(nn.Module):
    """A small VGG-style stack with fixed random weights (no pretrained VGG can be downloaded here).

    Random convolutional features still respond to local structure and texture, which is what the feature
    loss should compare; the weights come from a fixed seed, independent of --seed, so the loss is the same
    function in every run.
    """

    def __init__(self, seed=20220218):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        widths = [(1, 16), (16, 16), None, (16, 32), (32, 32), None, (32, 64), (64, 64)]
        self.blocks = nn.ModuleList()
        block = []
        for w in widths:
            if w is None:
                self.blocks.append(nn.Sequential(*block))
                block = [nn.AvgPool2d(2)]
                continue
            conv = nn.Conv2d(w[0], w[1], 3, padding=1)
            with torch.no_grad():
                conv.weight.normal_(0.0, (2.0 / (w[0] * 9)) ** 0.5, generator=g)
                conv.bias.zero_()
            block += [conv, nn.ReLU()]
        self.blocks.append(nn.Sequential(*block))
        self.requires_grad_(False)
        self.description = "random-init VGG-style conv stack (fixed seed 20220218), 3 feature maps"

    def forward(self, x):
        x = x * 2.0 - 1.0
        out = []
        for b in self.blocks:
            x = b(x)
            out.append(x)
        return out


class ClassifierFeatures(nn.Module):
    """conv1, layer1 and layer2 of a ChestClassifier (ours or ImageNet ResNet50 weights) as a feature loss."""

    def __init__(self, classifier, description):
        super().__init__()
        self.classifier = classifier.eval().requires_grad_(False)
        self.description = description

    def train(self, mode=True):  # keep batch norm in eval mode whatever the caller does
        return super().train(False)

    def forward(self, x):
        n = self.classifier.net
        x = torch.cat([x, x, x], dim=1)
        x = (x - self.classifier.mean) / self.classifier.std
        f0 = n.relu(n.bn1(n.conv1(x)))
        f1 = n.layer1(n.maxpool(f0))
        return [f0, f1, n.layer2(f1)]


class VGGFeatures(nn.Module):
    """torchvision VGG16/19 features at relu1_2, relu2_2, relu3_3 (relu3_4 for VGG19), from a local file."""

    def __init__(self, vgg, cut_points, description):
        super().__init__()
        self.features = vgg.features[: cut_points[-1] + 1].eval().requires_grad_(False)
        self.cuts = cut_points
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)
        self.description = description

    def forward(self, x):
        x = (torch.cat([x, x, x], dim=1) - self.mean) / self.std
        out = []
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i in self.cuts:
                out.append(x)
        return out
