#!/usr/bin/env python3
"""PyTorch reference for `bench perf --vs-pytorch`: the same pre-activation ResNet for CIFAR, batch and
thread count as the TensorFlow.js measurement, timed the same way (median step time after warm-up).

Network (He et al., ECCV 2016, and the authors' fb.resnet.torch-based code): 3x3 conv with 16 filters, three
stages of n basic units (BN-ReLU-conv3x3-BN-ReLU-conv3x3, identity shortcut) with 16, 32, 64 filters, stride 2
at the first unit of stages 2 and 3 where the first BN-ReLU is shared and a 1x1 projection shortcut reads the
pre-activated input; the first unit of stage 1 also shares its BN-ReLU (the activation right after conv1);
after the last addition BN-ReLU, global average pooling and a fully connected layer. Depth = 6n + 2.
Training step: forward, cross-entropy, backward, SGD momentum 0.9, weight decay 1e-4, lr 0.1.
--device cuda runs it on the GPU (the GPU check compares it with the webgpu backend on the same GPU); each
timed step then ends with torch.cuda.synchronize(), so that it measures the work and not its queueing.

Prints one JSON object on stdout: {"torch": version, "threads": n, "device": name, "results": [...]}.
"""
import argparse
import json
import statistics
import sys
import time

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError as error:  # the caller reports this as "PyTorch not available"
    print(json.dumps({"error": f"cannot import torch: {error}"}))
    sys.exit(3)


def conv3x3(in_planes, out_planes, stride=1):
    return nn.Conv2d(in_planes, out_planes, 3, stride=stride, padding=1, bias=False)


def conv1x1(in_planes, out_planes, stride=1):
    return nn.Conv2d(in_planes, out_planes, 1, stride=stride, bias=False)


class PreActBasicUnit(nn.Module):
    expansion = 1

    def __init__(self, in_planes, planes, stride, share_preact):
        super().__init__()
        self.share_preact = share_preact
        self.bn1 = nn.BatchNorm2d(in_planes)
        self.conv1 = conv3x3(in_planes, planes, stride)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv2 = conv3x3(planes, planes)
        needs_projection = stride != 1 or in_planes != planes
        self.projection = conv1x1(in_planes, planes, stride) if needs_projection else None

    def forward(self, x):
        preact = F.relu(self.bn1(x))
        # shortcut branch: reads the pre-activated input where the pre-activation is shared
        shortcut = preact if self.share_preact else x
        if self.projection is not None:
            shortcut = self.projection(shortcut)
        # residual branch
        out = self.conv1(preact)
        out = self.conv2(F.relu(self.bn2(out)))
        return out + shortcut


class PreActResNet(nn.Module):
    def __init__(self, depth, num_classes=10):
        super().__init__()
        if (depth - 2) % 6 != 0:
            raise ValueError(f"depth must be 6n+2 for basic units, got {depth}")
        n = (depth - 2) // 6
        self.conv1 = conv3x3(3, 16)
        units = []
        in_planes = 16
        for stage, planes in enumerate((16, 32, 64)):
            for index in range(n):
                stride = 2 if stage > 0 and index == 0 else 1
                units.append(PreActBasicUnit(in_planes, planes, stride, share_preact=index == 0))
                in_planes = planes
        self.units = nn.Sequential(*units)
        self.bn = nn.BatchNorm2d(in_planes)
        self.fc = nn.Linear(in_planes, num_classes)
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x):
        x = self.units(self.conv1(x))
        x = F.relu(self.bn(x))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def median_seconds(step, warmup, steps, device):
    def synchronized_step():
        step()
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    for _ in range(warmup):
        synchronized_step()
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        synchronized_step()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(depth, batch, warmup, steps, num_classes, device):
    torch.manual_seed(0)
    model = PreActResNet(depth, num_classes).to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    images = torch.randn(batch, 3, 32, 32).to(device)
    labels = torch.randint(0, num_classes, (batch,)).to(device)

    def train_step():
        optimizer.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(images), labels)
        loss.backward()
        optimizer.step()

    model.train()
    train_seconds = median_seconds(train_step, warmup, steps, device)

    def inference_step():
        with torch.no_grad():
            model(images)

    model.eval()
    inference_seconds = median_seconds(inference_step, warmup, steps, device)
    return {
        "model": f"preact-resnet{depth}",
        "depth": depth,
        "batch": batch,
        "params": sum(p.numel() for p in model.parameters()),
        "trainStepMs": train_seconds * 1000,
        "trainImagesPerSec": batch / train_seconds,
        "inferenceImagesPerSec": batch / inference_seconds,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--depths", default="20,110", help="comma-separated depths 6n+2")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--threads", type=int, default=0, help="torch.set_num_threads; 0 keeps the default")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--device", default="cpu", help="torch device: cpu (default), cuda, cuda:1, …")
    args = parser.parse_args()
    try:
        device = torch.device(args.device)
    except RuntimeError as error:
        print(json.dumps({"error": f"--device {args.device!r} is not a torch device: {error}"}))
        sys.exit(2)
    if device.type == "cuda" and not torch.cuda.is_available():
        print(json.dumps({"error": f"--device {args.device}: this PyTorch ({torch.__version__}) sees no CUDA GPU"}))
        sys.exit(4)
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    if device.type == "cuda":
        # cuDNN picks its fastest convolution algorithms for these fixed shapes during the warm-up steps.
        torch.backends.cudnn.benchmark = True
    depths = [int(d) for d in args.depths.split(",") if d]
    results = [measure(d, args.batch, args.warmup, args.steps, args.classes, device) for d in depths]
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    print(
        json.dumps(
            {"torch": torch.__version__, "threads": torch.get_num_threads(), "device": name, "results": results}
        )
    )


if __name__ == "__main__":
    main()
