#!/usr/bin/python3
"""Train Mirada's bundled default model `fashion-cnn` on Fashion-MNIST.

Run from the repository root with Debian's torch:

    /usr/bin/python3 models/fashion-cnn/train.py [--epochs N] [--seed S]

Reads the idx .gz files shipped by Debian under /usr/share/datasets/fashion-mnist
(no downloads), trains a small CAM-compatible CNN on CPU (2 threads, fixed seed),
exports it with torch.jit.script to models/fashion-cnn/fashion-cnn.pt, writes the
descriptor fashion-cnn.json and a few test-set sample PNGs to resources/samples/.

Architecture (CAM-compatible: conv blocks -> global average pooling -> one linear):
    block1: conv3x3 1->32, BN, ReLU, conv3x3 32->32, BN, ReLU, maxpool2   (28 -> 14)
    block2: conv3x3 32->64, BN, ReLU, conv3x3 64->64, BN, ReLU, maxpool2  (14 -> 7)
    block3: conv3x3 64->128, BN, ReLU                                     (7x7x128)
    gap:    AdaptiveAvgPool2d(1), flatten
    fc:     Linear(128, 10) -> logits
"""
import argparse
import gzip
import json
import os
import random
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
DATA_DIR = "/usr/share/datasets/fashion-mnist"
SAMPLES_DIR = os.path.join(REPO, "resources", "samples")

LABELS = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
          "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
# File-name slugs for the sample PNGs, one per class.
SLUGS = ["tshirt", "trouser", "pullover", "dress", "coat",
         "sandal", "shirt", "sneaker", "bag", "ankle-boot"]
# Classes written to resources/samples/ (8 distinct classes).
SAMPLE_CLASSES = [0, 1, 2, 3, 5, 7, 8, 9]


def read_idx_images(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic, n, rows, cols = np.frombuffer(data[:16], dtype=">u4")
    assert magic == 2051, f"bad magic {magic} in {path}"
    return np.frombuffer(data[16:], dtype=np.uint8).reshape(int(n), int(rows), int(cols))


def read_idx_labels(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic, n = np.frombuffer(data[:8], dtype=">u4")
    assert magic == 2049, f"bad magic {magic} in {path}"
    return np.frombuffer(data[8:], dtype=np.uint8).astype(np.int64)[: int(n)]


def conv_bn_relu(cin, cout):
    return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


class FashionCNN(nn.Module):
    def __init__(self, num_classes: int = 10):
        super().__init__()
        self.block1 = nn.Sequential(*conv_bn_relu(1, 32), *conv_bn_relu(32, 32), nn.MaxPool2d(2))
        self.block2 = nn.Sequential(*conv_bn_relu(32, 64), *conv_bn_relu(64, 64), nn.MaxPool2d(2))
        self.block3 = nn.Sequential(*conv_bn_relu(64, 128))
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(128, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.block1(x)
        x = self.block2(x)
        x = self.block3(x)
        x = self.gap(x)
        x = torch.flatten(x, 1)
        return self.fc(x)


def augment(x, gen, bg: float):
    """Random horizontal flip + random shift of up to 2 px (pad with black, then crop)."""
    n = x.shape[0]
    flip = torch.rand(n, generator=gen) < 0.5
    x = torch.where(flip[:, None, None, None], x.flip(3), x)
    pad = 2
    # Pad with bg, the normalised value of a black (0) pixel.
    xp = F.pad(x, (pad, pad, pad, pad), value=bg)
    dx = torch.randint(0, 2 * pad + 1, (n,), generator=gen)
    dy = torch.randint(0, 2 * pad + 1, (n,), generator=gen)
    out = torch.empty_like(x)
    for sx in range(2 * pad + 1):
        for sy in range(2 * pad + 1):
            m = (dx == sx) & (dy == sy)
            if m.any():
                out[m] = xp[m, :, sy:sy + 28, sx:sx + 28]
    return out


@torch.no_grad()
def evaluate(model, x, y, bs=1000):
    model.eval()
    correct = 0
    probs = []
    for i in range(0, x.shape[0], bs):
        logits = model(x[i:i + bs])
        probs.append(F.softmax(logits, 1))
        correct += int((logits.argmax(1) == y[i:i + bs]).sum())
    return correct / x.shape[0], torch.cat(probs)


def write_samples(test_img, test_lab, probs):
    """Write one confidently, correctly classified test image per class in SAMPLE_CLASSES."""
    from PIL import Image
    os.makedirs(SAMPLES_DIR, exist_ok=True)
    pred = probs.argmax(1).numpy()
    conf = probs.max(1).values.numpy()
    chosen = []
    for c in SAMPLE_CLASSES:
        # First test image (lowest index) of class c that is predicted correctly
        # with >= 0.99 confidence: deterministic given the trained weights.
        idx = [i for i in range(len(test_lab)) if test_lab[i] == c and pred[i] == c and conf[i] >= 0.99]
        if not idx:  # fall back to the most confident correct one
            cand = [i for i in range(len(test_lab)) if test_lab[i] == c and pred[i] == c]
            idx = [max(cand, key=lambda i: conf[i])]
        i = idx[0]
        name = f"fashion-{SLUGS[c]}.png"
        Image.fromarray(test_img[i], mode="L").save(os.path.join(SAMPLES_DIR, name), optimize=True)
        chosen.append((name, i, LABELS[c], float(conf[i])))
        print(f"sample {name}: test index {i}, class {LABELS[c]}, confidence {conf[i]:.4f}")
    return chosen


def write_descriptor(mean, std):
    """Write fashion-cnn.json (Mirada's model descriptor); mean/std printed with 4 decimals."""
    descriptor = {
        "name": "fashion-cnn",
        "torchscript": "fashion-cnn.pt",
        "input": {"width": 28, "height": 28, "channels": 1},
        "resize": "stretch",
        "mean": [mean],
        "std": [std],
        "labels": LABELS,
        "target_layer": "block3",
        "output": "logits",
    }
    lines = []
    for k, v in descriptor.items():
        if k in ("mean", "std"):
            val = "[" + ", ".join(f"{x:.4f}" for x in v) + "]"
        else:
            val = json.dumps(v, separators=(", ", ": "))
        lines.append(f"  {json.dumps(k)}: {val}")
    # One key per line, values compact (the layout of Mirada's descriptor docs).
    with open(os.path.join(HERE, "fashion-cnn.json"), "w") as f:
        f.write("{\n" + ",\n".join(lines) + "\n}\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--seed", type=int, default=20240601)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=0.004)
    ap.add_argument("--no-samples", action="store_true")
    args = ap.parse_args()

    torch.set_num_threads(2)
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    torch.use_deterministic_algorithms(True)

    train_img = read_idx_images(os.path.join(DATA_DIR, "train-images-idx3-ubyte.gz"))
    train_lab = read_idx_labels(os.path.join(DATA_DIR, "train-labels-idx1-ubyte.gz"))
    test_img = read_idx_images(os.path.join(DATA_DIR, "t10k-images-idx3-ubyte.gz"))
    test_lab = read_idx_labels(os.path.join(DATA_DIR, "t10k-labels-idx1-ubyte.gz"))
    print(f"train {train_img.shape}, test {test_img.shape}")

    scaled = train_img.astype(np.float64) / 255.0
    mean = round(float(scaled.mean()), 4)
    std = round(float(scaled.std()), 4)
    print(f"training set statistics: mean {scaled.mean():.6f} std {scaled.std():.6f} "
          f"-> using mean {mean} std {std}")

    def to_tensor(img):
        t = torch.from_numpy(img.astype(np.float32) / 255.0).unsqueeze(1)
        return (t - mean) / std

    xtr, ytr = to_tensor(train_img), torch.from_numpy(train_lab)
    xte, yte = to_tensor(test_img), torch.from_numpy(test_lab)

    model = FashionCNN()
    nparams = sum(p.numel() for p in model.parameters())
    print(f"parameters: {nparams}")

    gen = torch.Generator().manual_seed(args.seed)
    steps_per_epoch = (xtr.shape[0] + args.batch - 1) // args.batch
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=5e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, epochs=args.epochs,
                                                steps_per_epoch=steps_per_epoch)
    t0 = time.time()
    for epoch in range(args.epochs):
        model.train()
        te = time.time()
        perm = torch.randperm(xtr.shape[0], generator=gen)
        total_loss = 0.0
        for s in range(steps_per_epoch):
            idx = perm[s * args.batch:(s + 1) * args.batch]
            xb = augment(xtr[idx], gen, -mean / std)
            loss = F.cross_entropy(model(xb), ytr[idx], label_smoothing=0.05)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total_loss += float(loss) * idx.shape[0]
        acc, _ = evaluate(model, xte, yte)
        print(f"epoch {epoch + 1}/{args.epochs}: loss {total_loss / xtr.shape[0]:.4f} "
              f"test acc {acc * 100:.2f}% ({time.time() - te:.0f}s)", flush=True)
    train_time = time.time() - t0

    model.eval()
    acc, probs = evaluate(model, xte, yte)
    print(f"final test accuracy: {acc * 100:.2f}% ({int(round(acc * 10000))}/10000)")
    print(f"training time: {train_time:.0f}s ({train_time / 60:.1f} min), epochs {args.epochs}, seed {args.seed}")

    scripted = torch.jit.script(model)
    pt_path = os.path.join(HERE, "fashion-cnn.pt")
    scripted.save(pt_path)
    print(f"saved {pt_path} ({os.path.getsize(pt_path)} bytes)")

    # Sanity check: the saved TorchScript reproduces the eager outputs.
    loaded = torch.jit.load(pt_path)
    loaded.eval()
    with torch.no_grad():
        diff = (loaded(xte[:256]) - model(xte[:256])).abs().max().item()
    print(f"torchscript max |diff| vs eager: {diff:.2e}")
    names = [n for n, _ in loaded.named_modules()]
    assert "block3" in names and "block2.0" in names and "fc" in names, names

    write_descriptor(mean, std)

    if not args.no_samples:
        write_samples(test_img, test_lab, probs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
