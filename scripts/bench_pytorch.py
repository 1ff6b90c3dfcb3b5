#!/usr/bin/python3
"""Plain PyTorch evaluation of the model Mirada benchmarks, for `mirada-cli bench --compare-pytorch`.

What a Python explainer (lime, captum) does with the model: torchvision's
architecture (or torch.jit.load for TorchScript) in eval mode under no_grad,
NCHW float32 batches, no further optimisation. Same weights, batch size,
thread count and input image as Mirada's run (the input comes preprocessed from
Mirada as raw float32 [1, C, H, W], so both time the very same tensor).

The weights file is never unpickled: for VGG16 and ResNet50 Mirada hands over
the tensors it read itself (--tensors: a JSON manifest beside a raw file), since
torch.load of a .pth runs whatever code the file's pickles name; --weights with
those architectures (manual use) goes through torch.load(weights_only=True).
TorchScript archives are opened with torch.jit.load, which unpickles no Python
globals.

Prints one JSON object on stdout:
  images_per_s        throughput over --images images after a 2-batch warm-up, median of --rounds
  evaluations_seconds time of --evaluations images in batches of --batch (0: not run)
  max_rel_diff        max |logit - Mirada's logit| / max |Mirada's logit| on the input image
                      (when --logits is given): the check that both ran the same network
With --optimized, also PyTorch's best float32 path, as its documentation gives
it for inference (torch.jit.script or the loaded archive, torch.jit.freeze,
torch.jit.optimize_for_inference):
  optimized_images_per_s
With --bf16, also PyTorch's own bfloat16 recipe (torch.autocast("cpu",
dtype=torch.bfloat16) with a channels-last model and input):
  bf16_images_per_s, bf16_max_rel_diff (its logits against float32 plain eval)
A variant that fails is reported as "<name>_error" instead.
"""
import argparse
import json
import sys
import time

import torch


def read_tensors(manifest):
    """The state dict that Mirada wrote: manifest [{name, dtype, shape, offset, nbytes}] + <manifest stem>.bin."""
    with open(manifest) as f:
        entries = json.load(f)
    with open(manifest[: -len(".json")] + ".bin", "rb") as f:
        data = bytearray(f.read())
    dtypes = {"float32": torch.float32, "int64": torch.int64}
    state = {}
    for e in entries:
        dtype = dtypes[e["dtype"]]
        n = e["nbytes"] // torch.tensor([], dtype=dtype).element_size()
        t = torch.frombuffer(data, dtype=dtype, count=n, offset=e["offset"]) if n else torch.empty(0, dtype=dtype)
        state[e["name"]] = t.view(e["shape"]).clone()
    return state


def load(arch, weights, tensors):
    if arch != "torchscript":
        import torchvision
        if not arch.replace("_", "").isalnum() or not hasattr(torchvision.models, arch):
            raise SystemExit(f"bench_pytorch.py: torchvision has no architecture '{arch}'")
        if tensors:
            state = read_tensors(tensors)
        else:
            state = torch.load(weights, map_location="cpu", weights_only=True)
        # The wrapper prefixes Mirada strips too (nn.DataParallel, torch.compile).
        for prefix in ("module.", "_orig_mod."):
            if state and all(k.startswith(prefix) for k in state):
                state = {k[len(prefix):]: v for k, v in state.items()}
        # The classifier's last weight, per family (the order matters: AlexNet and
        # VGG also have classifier.1 / classifier.0).
        heads = ("fc.weight", "classifier.6.weight", "classifier.weight", "classifier.3.weight",
                 "classifier.2.weight", "classifier.1.weight")
        head = next((state[k] for k in heads if k in state), None)
        classes = int(head.shape[0]) if head is not None else 1000
        kwargs = {"num_classes": classes}
        if arch == "googlenet":
            # As Mirada builds it: no auxiliary heads, transform_input on (torchvision's
            # setting for its pretrained weights).
            kwargs.update(aux_logits=False, transform_input=True, init_weights=False)
            state = {k: v for k, v in state.items() if not k.startswith(("aux1.", "aux2."))}
        model = getattr(torchvision.models, arch)(**kwargs)
        model.load_state_dict(state)
        return model.eval()
    model = torch.jit.load(weights, map_location="cpu")
    return model.eval()


def first_tensor(out):
    return out[0] if isinstance(out, (tuple, list)) else out


def timed_images(model, one, batch, count):
    """Seconds to evaluate `count` copies of `one` in batches of `batch`."""
    t0 = time.perf_counter()
    done = 0
    while done < count:
        n = min(batch, count - done)
        first_tensor(model(one.expand(n, -1, -1, -1).contiguous()))
        done += n
    return time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--arch", required=True, help="a torchvision ResNet/VGG name (resnet18, vgg11_bn, ...) or torchscript")
    ap.add_argument("--weights", help="TorchScript archive (or a state dict, loaded with weights_only=True)")
    ap.add_argument("--tensors", help="manifest .json of the state dict Mirada read (beside it: the .bin)")
    ap.add_argument("--input", required=True, help="raw float32 [1, C, H, W]")
    ap.add_argument("--shape", required=True, help="C,H,W")
    ap.add_argument("--batch", type=int, required=True)
    ap.add_argument("--threads", type=int, required=True)
    ap.add_argument("--images", type=int, required=True)
    ap.add_argument("--rounds", type=int, default=3, help="throughput rounds; the median is reported")
    ap.add_argument("--evaluations", type=int, default=0)
    ap.add_argument("--logits", help="raw float32 [classes]: Mirada's logits for the input")
    ap.add_argument("--optimized", action="store_true", help="also time freeze + optimize_for_inference")
    ap.add_argument("--bf16", action="store_true", help="also time bfloat16 autocast, channels-last")
    a = ap.parse_args()

    torch.set_num_threads(a.threads)
    c, h, w = (int(v) for v in a.shape.split(","))
    with open(a.input, "rb") as f:
        one = torch.frombuffer(bytearray(f.read()), dtype=torch.float32).view(1, c, h, w).clone()
    if not a.weights and not a.tensors:
        ap.error("give --weights or --tensors")
    model = load(a.arch, a.weights, a.tensors)
    result = {"threads": torch.get_num_threads(), "batch": a.batch, "torch": torch.__version__}
    with torch.no_grad():
        if a.logits:
            with open(a.logits, "rb") as f:
                ref = torch.frombuffer(bytearray(f.read()), dtype=torch.float32)
            got = first_tensor(model(one))[0].float()
            result["max_rel_diff"] = float((got - ref).abs().max() / ref.abs().max().clamp_min(1e-30))
        timed_images(model, one, a.batch, 2 * a.batch)  # warm-up (allocator, TorchScript profiling runs)
        rates = sorted(a.images / timed_images(model, one, a.batch, a.images) for _ in range(a.rounds))
        result["images"] = a.images
        result["rounds"] = a.rounds
        result["images_per_s"] = rates[len(rates) // 2]
        if a.evaluations > 0:
            result["evaluations"] = a.evaluations
            result["evaluations_seconds"] = timed_images(model, one, a.batch, a.evaluations)
        plain_logits = first_tensor(model(one))[0].float()

        def throughput(fn):
            timed_images(fn, one, a.batch, 2 * a.batch)
            return sorted(a.images / timed_images(fn, one, a.batch, a.images) for _ in range(a.rounds))[a.rounds // 2]

        if a.optimized:
            try:
                scripted = model if isinstance(model, torch.jit.ScriptModule) else torch.jit.script(model)
                fast = torch.jit.optimize_for_inference(torch.jit.freeze(scripted.eval()))
                result["optimized_images_per_s"] = throughput(fast)
            except Exception as e:  # a model TorchScript cannot script or freeze
                result["optimized_error"] = str(e).splitlines()[0] if str(e) else type(e).__name__
        if a.bf16:
            try:
                cl = model.to(memory_format=torch.channels_last)

                def autocast_bf16(x):
                    with torch.autocast("cpu", dtype=torch.bfloat16):
                        return first_tensor(cl(x.contiguous(memory_format=torch.channels_last)))

                got = autocast_bf16(one)[0].float()
                result["bf16_max_rel_diff"] = float(
                    (got - plain_logits).abs().max() / plain_logits.abs().max().clamp_min(1e-30))
                result["bf16_images_per_s"] = throughput(autocast_bf16)
            except Exception as e:
                result["bf16_error"] = str(e).splitlines()[0] if str(e) else type(e).__name__
    json.dump(result, sys.stdout)
    print()


if __name__ == "__main__":
    main()
