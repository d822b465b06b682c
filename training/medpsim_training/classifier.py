"""train-classifier: ResNet50 transfer learning, NORMAL vs PNEUMONIA (the study's Table 4 recipe).

Defaults: batch 128, 25 epochs, cross-entropy, SGD with momentum, ExponentialLR (stepped once per epoch),
the minority class augmented to about 1:1. The epoch with the lowest validation loss is kept (--select).
"""
import copy
import dataclasses
import time

import numpy as np
import torch
import torch.nn as nn

from . import augment as A
from .common import Run, batches, epoch_order, load_parts, save_outputs, to_device
from .manifest import grey_input
from .metrics import binary_metrics
from .models import CLASSES, FEATURE_CHANNELS, FEATURE_LAYERS, FEATURE_STRIDES, IMAGENET_MEAN, IMAGENET_STD, ChestClassifier
from .weights import init_classifier


def evaluate(model, images, labels, batch_size, device):
    """Mean cross-entropy and metrics (PNEUMONIA probability as the score) on preloaded images."""
    if len(labels) == 0:
        return None, None
    model.eval()
    probs, total = [], 0.0
    loss_fn = nn.CrossEntropyLoss(reduction="sum")
    with torch.no_grad():
        for s in batches(len(labels), batch_size):
            x = to_device(images[s], device)
            y = torch.as_tensor(labels[s], device=device)
            logits = model(x, with_features=False)
            total += float(loss_fn(logits, y))
            probs.append(torch.softmax(logits, dim=1)[:, 1].cpu().numpy())
    scores = np.concatenate(probs)
    return total / len(labels), binary_metrics(labels, scores)


def run(args, events):
    r = Run(args, events, "classifier")
    aug_cfg = A.AugmentConfig(args.rotation, args.shift_x, args.shift_y, args.shear, args.crop_pad)
    config = vars(args).copy()
    config.pop("func", None)
    r.start(config)

    parts, data = load_parts(args, events, labelled=True)
    code = {c: i for i, c in enumerate(CLASSES)}
    label_arrays = {p: np.array([code[it.label] for it in kept], dtype=np.int64) for p, (kept, _) in parts.items()}
    train_images, train_labels = parts["train"][1], label_arrays["train"]
    if len(set(train_labels.tolist())) < 2:
        from .data import DataError

        raise DataError("the training images must contain both NORMAL and PNEUMONIA")

    plan = A.balance_plan(train_labels.tolist(), args.seed, args.balance_ratio)
    aug_counts = A.augmented_counts(plan, train_labels.tolist())
    per_class = {CLASSES[c]: int((train_labels == c).sum()) + aug_counts.get(c, 0) for c in range(len(CLASSES))}
    data["augmentation"] = {
        "balanceRatio": args.balance_ratio,
        "augmentedCopies": {CLASSES[c]: n for c, n in aug_counts.items()},
        "samplesPerEpoch": len(plan),
        "perClassPerEpoch": per_class,
        "params": dataclasses.asdict(aug_cfg),
        "note": "augmented copies of the smaller class(es), fresh random parameters every epoch",
    }
    events.emit("metrics", stage="data", data=data)

    model = ChestClassifier(len(CLASSES))
    init = init_classifier(model, args.weights)
    if not init["pretrained"]:
        events.warning("TRAINING FROM SCRATCH: " + init["reason"] + " (pass --weights FILE with ImageNet ResNet50 weights)",
                       initialization=init)
    model.to(r.device)
    opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=args.momentum, weight_decay=args.weight_decay)
    sched = torch.optim.lr_scheduler.ExponentialLR(opt, gamma=args.gamma)
    loss_fn = nn.CrossEntropyLoss()
    val_images, val_labels = parts["val"][1], label_arrays["val"]

    best = {"epoch": None, "val_loss": float("inf"), "state": None}
    history = []
    for epoch in range(1, args.epochs + 1):
        t0 = time.time()
        model.train()
        order = epoch_order(len(plan), args.seed, epoch)
        if len(order) % args.batch_size == 1 and len(order) > 1:
            order = order[:-1]  # a batch of one breaks batch norm in training mode
        total, seen = 0.0, 0
        for step, s in enumerate(batches(len(order), args.batch_size)):
            positions = order[s]
            src = np.array([plan[p][0] for p in positions])
            x = A.as_tensor(train_images[src])
            A.augment_batch(x, [plan[p][1] for p in positions], args.seed, epoch, positions.tolist(), aug_cfg)
            x = x.to(r.device)
            y = torch.as_tensor(train_labels[src], device=r.device)
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(x, with_features=False), y)
            loss.backward()
            opt.step()
            total += loss.item() * len(src)
            seen += len(src)
            if args.log_every and (step + 1) % args.log_every == 0:
                events.emit("progress", epoch=epoch, step=step + 1, seen=seen, of=len(order), losses={"train": total / seen})
        lr = opt.param_groups[0]["lr"]
        sched.step()
        val_loss, val_metrics = evaluate(model, val_images, val_labels, args.batch_size, r.device)
        record = {"epoch": epoch, "epochs": args.epochs, "losses": {"train": total / max(1, seen), "val": val_loss},
                  "metrics": {"val": val_metrics}, "lr": lr, "seconds": round(time.time() - t0, 3)}
        history.append(record)
        events.emit("epoch", **record)
        # Model selection: lowest validation loss (ties keep the earlier epoch); without a validation set
        # or with --select last, the last epoch.
        if args.select == "last" or val_loss is None or val_loss < best["val_loss"]:
            best = {"epoch": epoch, "val_loss": val_loss if val_loss is not None else float("inf"),
                    "state": copy.deepcopy({k: v.detach().cpu() for k, v in model.state_dict().items()})}

    if best["state"] is not None:
        model.load_state_dict(best["state"])
    val_loss, val_metrics = evaluate(model, val_images, val_labels, args.batch_size, r.device)
    test_loss, test_metrics = evaluate(model, parts["test"][1], label_arrays["test"], args.batch_size, r.device)
    if test_metrics is None:
        events.warning("no test images: test metrics are not available")
    metrics = {"selectedEpoch": best["epoch"], "selection": args.select, "val": val_metrics, "valLoss": val_loss,
               "test": test_metrics, "testLoss": test_loss, "positiveClass": "PNEUMONIA"}
    return r.finish(metrics, lambda: export_classifier(r, model, config, data, metrics, init, history))


def export_classifier(r, model, config, data, metrics, init, history):
    """The ONNX graph with the logits and the deep-metric feature maps, and its manifest."""
    s = r.args.image_size
    outputs = [{"name": "logits", "shape": ["batch", len(CLASSES)], "dtype": "float32",
                "meaning": f"class logits in the order {list(CLASSES)}; softmax gives probabilities"}]
    axes = {"logits": {0: "batch"}}
    for layer in FEATURE_LAYERS:
        name, stride = "features_" + layer, FEATURE_STRIDES[layer]
        outputs.append({
            "name": name,
            "shape": ["batch", FEATURE_CHANNELS[layer], f"ceil(height/{stride})", f"ceil(width/{stride})"],
            "shapeAtTrainingSize": [None, FEATURE_CHANNELS[layer], -(-s // stride), -(-s // stride)],
            "dtype": "float32",
            "layer": layer,
            "meaning": ("ResNet50 conv1 after batch norm and ReLU" if layer == "conv1" else f"ResNet50 {layer} output")
            + " (a deep-perceptual-metric feature map)",
        })
        axes[name] = {0: "batch", 2: name + "_height", 3: name + "_width"}
    normalization = {"mean": list(IMAGENET_MEAN), "std": list(IMAGENET_STD), "inGraph": True,
                     "note": "the graph repeats the grey channel to 3 and applies ImageNet's mean/std itself"}
    return save_outputs(r, model, [o["name"] for o in outputs], axes, s, (36, 44), {
        "inputs": [grey_input(s, 1, normalization)],
        "outputs": outputs,
        "config": config,
        "data": data,
        "metrics": metrics,
        "initialization": init,
        "extra": {"classes": list(CLASSES), "featureLayers": [f"features_{l}" for l in FEATURE_LAYERS],
                  "architecture": "torchvision resnet50, fc -> 2", "history": history,
                  # The server's lpips metric (src/metrics/deep.ts): every feature layer, unweighted, at the
                  # images' own size (the graph takes any height and width).
                  "deepMetric": {"layers": [f"features_{l}" for l in FEATURE_LAYERS],
                                 "defaultLayers": [f"features_{l}" for l in FEATURE_LAYERS],
                                 "inputSize": None, "linWeights": None}},
    })
