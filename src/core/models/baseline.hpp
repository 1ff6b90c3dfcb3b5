#pragma once
// What "absent" looks like to a model: the image a perturbation method puts in
// place of a removed superpixel, and what deletion/insertion remove pixels to.
// It is a property of the model (the descriptor's "baseline" field): a model
// trained on garments on black sees a black patch as "nothing here", while a
// grey patch may look like a class of its own (fashion-cnn calls a uniform
// dataset-mean image "Bag" with p = 0.96).
#include <string>
#include <vector>

namespace mirada {

struct Baseline {
    enum class Kind {
        Black,        // "black": pixel value 0
        DatasetMean,  // "dataset-mean": the model's normalisation mean (0 after normalisation)
        ImageMean,    // "image-mean": the image's own mean colour
        Blur,         // "blur": Gaussian blur of the image, sigma = 10% of the larger side
        Grey,         // "grey": constant 128 of 255
        SegmentMean,  // "segment-mean": each superpixel's own mean colour (LIME's convention; superpixel methods only)
        Values,       // [v0, v1, v2]: constant colour, per channel on [0, 1]
    };
    Kind kind = Kind::DatasetMean;
    std::vector<float> values;  // Values only: one per model input channel, each in [0, 1]

    bool operator==(const Baseline& o) const { return kind == o.kind && values == o.values; }
};

// "black", "dataset-mean", ... or "[0.1, 0.2, 0.3]" for Values.
std::string toString(const Baseline& b);
// The named kinds, in the enum's order (without Values).
const std::vector<std::string>& baselineNames();
// A named kind; throws mirada::Error listing the names.
Baseline baselineFromName(const std::string& name);
// One line for settings tables and --help.
std::string baselineHelp();

}  // namespace mirada
