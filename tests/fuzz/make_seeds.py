#!/usr/bin/python3
"""Writes the fuzz targets' seed corpora into tests/fuzz/corpus/<target>/.

Run with Debian's /usr/bin/python3 (python3-torch, python3-numpy, python3-pil):
    /usr/bin/python3 tests/fuzz/make_seeds.py
The seeds are committed; run this again only to change them. Every file is a
few KB at most: libFuzzer mutates small inputs best, and its default largest
input is taken from the largest seed.
"""
import collections
import gzip
import io
import json
import os
import struct
import sys

import numpy as np
import torch
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CORPUS = os.path.join(HERE, "corpus")


def out(target, name, data):
    folder = os.path.join(CORPUS, target)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)
    assert len(data) <= 8192, (target, name, len(data))


def torch_bytes(obj, **kw):
    buf = io.BytesIO()
    torch.save(obj, buf, **kw)
    return buf.getvalue()


def state_dict_seeds():
    torch.manual_seed(0)
    small = collections.OrderedDict(
        [("conv.weight", torch.arange(6, dtype=torch.float32).reshape(1, 1, 2, 3)),
         ("conv.bias", torch.tensor([0.5])),
         ("bn.num_batches_tracked", torch.tensor(3, dtype=torch.int64))])
    out("state_dict", "zip_ordered_dict.pth", torch_bytes(small))
    out("state_dict", "legacy_ordered_dict.pth", torch_bytes(small, _use_new_zipfile_serialization=False))
    # Views of one storage (a slice, a transpose), other dtypes, and a checkpoint
    # dict wrapping the state dict under "state_dict" next to non-tensor values.
    base = torch.arange(12, dtype=torch.float64).reshape(3, 4)
    views = {"base": base, "row": base[1], "t": base.t(), "half": torch.ones(2, dtype=torch.float16),
             "flags": torch.tensor([True, False]), "bytes": torch.tensor([1, 2, 255], dtype=torch.uint8)}
    out("state_dict", "zip_views.pth", torch_bytes(views))
    out("state_dict", "legacy_views.pth", torch_bytes(views, _use_new_zipfile_serialization=False))
    lin = torch.nn.Linear(2, 1)
    ckpt = {"epoch": 3, "lr": 0.01, "name": "tiny", "state_dict": lin.state_dict(), "empty": torch.zeros(0)}
    out("state_dict", "zip_checkpoint.pth", torch_bytes(ckpt))
    out("state_dict", "legacy_checkpoint.pth", torch_bytes(ckpt, _use_new_zipfile_serialization=False))
    # A parameter (rebuilt through torch._utils._rebuild_parameter).
    out("state_dict", "legacy_parameter.pth",
        torch_bytes({"p": torch.nn.Parameter(torch.ones(2, 2))}, _use_new_zipfile_serialization=False))


def image_seeds():
    rng = np.random.default_rng(0)
    rgb = Image.fromarray(rng.integers(0, 255, (6, 5, 3), dtype=np.uint8), "RGB")
    grey = Image.fromarray(rng.integers(0, 255, (6, 5), dtype=np.uint8), "L")
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90
    exif_bytes = exif.tobytes()

    def save(img, fmt, **kw):
        buf = io.BytesIO()
        img.save(buf, fmt, **kw)
        return buf.getvalue()

    out("image_header", "grey.png", save(grey, "PNG"))
    out("image_header", "rgb_exif.png", save(rgb, "PNG", exif=exif_bytes))
    out("image_header", "rgb_exif.jpg", save(rgb, "JPEG", quality=20, exif=exif_bytes))
    out("image_header", "grey_progressive.jpg", save(grey, "JPEG", quality=20, progressive=True))
    out("image_header", "rgb_le.tif", save(rgb, "TIFF"))
    # Big-endian TIFF with an orientation tag, written by hand: 2 x 3, 8-bit grey.
    tags = [(256, 3, 1, 2), (257, 3, 1, 3), (258, 3, 1, 8), (262, 3, 1, 1), (273, 4, 1, 8 + 2 + 8 * 12 + 4),
            (274, 3, 1, 8), (277, 3, 1, 1), (279, 4, 1, 6)]
    ifd = struct.pack(">H", len(tags)) + b"".join(
        struct.pack(">HHI", t, ty, n) + (struct.pack(">HH", v, 0) if ty == 3 else struct.pack(">I", v))
        for t, ty, n, v in tags) + struct.pack(">I", 0)
    out("image_header", "grey_be_orient8.tif", b"MM\x00*" + struct.pack(">I", 8) + ifd + bytes(range(6)))
    # BigTIFF header (version 43) with one IFD entry list, little-endian.
    btags = [(256, 3, 1, 4), (257, 3, 1, 2), (274, 3, 1, 3)]
    bifd = struct.pack("<Q", len(btags)) + b"".join(struct.pack("<HHQQ", t, ty, n, v) for t, ty, n, v in btags) \
        + struct.pack("<Q", 0)
    out("image_header", "bigtiff.tif", b"II+\x00" + struct.pack("<HHQ", 8, 0, 16) + bifd)
    out("image_header", "lossy.webp", save(rgb, "WEBP", quality=10))
    out("image_header", "lossless.webp", save(grey.convert("RGB"), "WEBP", lossless=True))
    out("image_header", "exif.webp", save(rgb, "WEBP", quality=10, exif=exif_bytes))
    out("image_header", "rgb.bmp", save(rgb, "BMP"))
    out("image_header", "grey.gif", save(grey, "GIF"))
    out("image_header", "grey.pgm", save(grey, "PPM"))
    out("image_header", "rgb.ppm", b"P3\n# comment\n2 1\n255\n1 2 3 4 5 6\n")
    out("image_header", "grey.pam", b"P7\nWIDTH 2\nHEIGHT 1\nDEPTH 1\nMAXVAL 255\nTUPLTYPE GRAYSCALE\nENDHDR\n\x01\x02")
    out("image_header", "exif_tiff_only.bin", b"Exif\x00\x00" + exif_bytes[6:] if exif_bytes.startswith(b"Exif")
        else b"Exif\x00\x00" + exif_bytes)


def descriptor_seeds():
    with open(os.path.join(ROOT, "models", "fashion-cnn", "fashion-cnn.json"), "rb") as f:
        out("descriptor", "fashion-cnn.json", f.read())
    out("descriptor", "rgb_labels_file.json", json.dumps({
        "name": "rgb", "torchscript": "model.pt", "input": {"width": 32, "height": 24, "channels": 3},
        "resize": "center-crop", "resize_shorter": 40, "mean": [0.5, 0.4, 0.3], "std": [0.2, 0.25, 0.3],
        "labels_file": "labels.txt", "target_layer": "features.7", "output": "probabilities",
        "baseline": [0.1, 0.2, 0.3], "comment": "seed"}, indent=1).encode())
    out("descriptor", "minimal_letterbox.json",
        b'{"torchscript": "fashion-cnn.pt", "resize": "letterbox", "input": {"channels": 1},'
        b' "labels": ["a", "b\\u00e9"], "baseline": "dataset-mean", "output": "logits"}')


def idx_seeds():
    def idx_images(images):
        n, rows, cols = images.shape
        return struct.pack(">IIII", 2051, n, rows, cols) + images.astype(np.uint8).tobytes()

    def idx_labels(labels):
        return struct.pack(">II", 2049, len(labels)) + bytes(labels)

    def gz(data):
        return gzip.compress(data, mtime=0)

    out("idx", "images_3x2x2.idx3", idx_images(np.arange(12).reshape(3, 2, 2)))
    out("idx", "labels_4.idx1", idx_labels([0, 9, 3, 7]))
    out("idx", "labels_4.idx1.gz", gz(idx_labels([1, 2, 3, 4])))
    # The first two Fashion-MNIST test images and labels, gzipped as Debian ships them.
    fm = "/usr/share/datasets/fashion-mnist"
    with gzip.open(os.path.join(fm, "t10k-images-idx3-ubyte.gz")) as f:
        head = f.read(16 + 2 * 28 * 28)
    out("idx", "fashion_images_2.idx3.gz", gz(struct.pack(">I", 2051) + struct.pack(">I", 2) + head[8:]))
    with gzip.open(os.path.join(fm, "t10k-labels-idx1-ubyte.gz")) as f:
        lab = f.read(8 + 2)
    out("idx", "fashion_labels_2.idx1", struct.pack(">II", 2049, 2) + lab[8:])


def label_map_seeds():
    def png(arr, mode):
        buf = io.BytesIO()
        Image.fromarray(arr, mode).save(buf, "PNG")
        return buf.getvalue()

    lab16 = (np.arange(20, dtype=np.uint16).reshape(4, 5) * 1000)
    out("label_map", "labels16_5x4.png", png(lab16, "I;16"))
    lab8 = np.array([[0, 1, 1, 2], [0, 1, 2, 2], [3, 3, 255, 2]], dtype=np.uint8)
    out("label_map", "labels8_4x3.png", png(lab8, "L"))
    bits = np.array([[0, 1, 0], [1, 1, 0]], dtype=bool)
    out("label_map", "labels1bit_3x2.png", png(bits, "1"))


if __name__ == "__main__":
    state_dict_seeds()
    image_seeds()
    descriptor_seeds()
    idx_seeds()
    label_map_seeds()
    for target in sorted(os.listdir(CORPUS)):
        files = sorted(os.listdir(os.path.join(CORPUS, target)))
        sizes = [os.path.getsize(os.path.join(CORPUS, target, f)) for f in files]
        print(f"{target}: {len(files)} seeds, {sum(sizes)} bytes, largest {max(sizes)}", file=sys.stderr)
