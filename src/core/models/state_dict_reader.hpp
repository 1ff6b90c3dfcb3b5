#pragma once
// Reads PyTorch weight files (state_dicts written by torch.save) without
// Python. LibTorch's torch::pickle_load cannot read them, so this has its own
// small, safe pickle interpreter: it only knows the handful of classes a
// state_dict uses (OrderedDict, tensors, storages) and never runs anything a
// file names.
//
// Both formats torch.save writes are read:
//  - the zip archive (default since PyTorch 1.6), through LibTorch's
//    caffe2::serialize::PyTorchStreamReader;
//  - the legacy format (_use_new_zipfile_serialization=False and files made
//    before 1.6, e.g. torchvision's vgg16-397923af.pth), streamed.
// Every malformed input throws mirada::Error naming the file.
#include <torch/torch.h>

#include <filesystem>
#include <string>
#include <vector>

namespace mirada {

struct NamedTensor {
    std::string name;
    torch::Tensor tensor;  // on the CPU, owns its memory, requires_grad false
};
using StateDict = std::vector<NamedTensor>;  // in the file's order

enum class WeightFileFormat {
    PickleZip,     // zip archive with data.pkl and no code/ folder (torch.save since 1.6)
    PickleLegacy,  // pickle stream that starts with torch's legacy magic number
    TorchScript,   // zip archive with a code/ folder or constants.pkl (torch.jit.save)
    Unknown,       // anything else, including missing, empty or unreadable files
};

std::string toString(WeightFileFormat format);

// Looks at the file's first bytes (and, for zip archives, its record names).
// Never throws for bad content; a file that cannot be opened is Unknown.
WeightFileFormat sniffWeightFileFormat(const std::filesystem::path& file);

// Reads every tensor of the state dict in `file`, in the file's order.
// A checkpoint dict that holds no tensors itself but wraps the state dict under
// "state_dict", "model" or "model_state_dict" gives the wrapped dict's
// tensors. Non-tensor values are skipped. Tensors that shared storage in
// Python come out with the right values (views are copied into their own
// memory; a tensor that covers its whole storage keeps it).
// `entry` (e.g. "model_ema", an EMA copy kept beside "model") picks that
// entry of a checkpoint instead, at the top or nested one level.
// Throws mirada::Error naming the file, what was expected and what to do.
StateDict readStateDict(const std::filesystem::path& file, const std::string& entry = "");

}  // namespace mirada
