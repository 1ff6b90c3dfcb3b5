// Finding the images of a folder and their true classes (torchvision's
// ImageFolder layout: one sub-folder per class).
#include <algorithm>
#include <cctype>
#include <fstream>
#include <map>
#include <random>
#include <set>

#include "batch/batch.hpp"
#include "common/error.hpp"

namespace fs = std::filesystem;

namespace mirada {
namespace {

std::string lower(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

// Letters and digits only, lower case: "T-shirt/top", "t-shirt_top" and "T shirt top" are one name.
std::string labelKey(const std::string& s) {
    std::string k;
    for (unsigned char c : s)
        if (std::isalnum(c)) k += static_cast<char>(std::tolower(c));
    return k;
}

bool isHidden(const fs::path& p) {
    const std::string n = p.filename().string();
    return !n.empty() && n[0] == '.';
}

const std::vector<std::string>& defaultPatterns() {
    static const std::vector<std::string> p = {"*.png", "*.jpg", "*.jpeg", "*.bmp", "*.tif", "*.tiff", "*.webp"};
    return p;
}

std::string trim(const std::string& s) {
    const auto a = s.find_first_not_of(" \t\r\n");
    if (a == std::string::npos) return "";
    const auto b = s.find_last_not_of(" \t\r\n");
    return s.substr(a, b - a + 1);
}

// The model class a text names: an index in range, or a label (labelKey-equal). -1 when none.
int classOf(const std::string& text, const std::vector<std::string>& labels) {
    const std::string t = trim(text);
    if (!t.empty() && std::all_of(t.begin(), t.end(), [](unsigned char c) { return std::isdigit(c); }) &&
        t.size() < 9) {
        const int i = std::stoi(t);
        if (i >= 0 && i < static_cast<int>(labels.size())) return i;
    }
    const std::string key = labelKey(t);
    if (key.empty()) return -1;
    for (size_t i = 0; i < labels.size(); ++i)
        if (labelKey(labels[i]) == key) return static_cast<int>(i);
    return -1;
}

// folder -> class from a mapping file: "folder<TAB or comma>label-or-index" per line.
std::map<std::string, int> readLabelMap(const fs::path& file, const std::vector<std::string>& labels) {
    std::ifstream in(file);
    if (!in)
        throw Error("cannot read the label mapping '" + file.string() +
                    "'; give a text file with one 'folder,label' (or folder<TAB>label) per line");
    std::map<std::string, int> map;
    std::string line;
    int number = 0;
    while (std::getline(in, line)) {
        ++number;
        const std::string t = trim(line);
        if (t.empty() || t[0] == '#') continue;
        auto sep = t.find('\t');
        if (sep == std::string::npos) sep = t.find(',');
        if (sep == std::string::npos)
            throw Error("label mapping '" + file.string() + "' line " + std::to_string(number) + " ('" + t +
                        "') has no tab or comma; write 'folder,label'");
        const std::string folder = trim(t.substr(0, sep)), label = trim(t.substr(sep + 1));
        const int c = classOf(label, labels);
        if (c < 0)
            throw Error("label mapping '" + file.string() + "' line " + std::to_string(number) + ": '" + label +
                        "' is not one of the model's " + std::to_string(labels.size()) +
                        " labels nor a class index 0-" + std::to_string(static_cast<int>(labels.size()) - 1));
        map[folder] = c;
    }
    return map;
}

}  // namespace

bool patternMatches(const std::string& pattern, const std::string& name) {
    const std::string p = lower(pattern), n = lower(name);
    // Iterative glob with backtracking to the last '*'.
    size_t pi = 0, ni = 0, star = std::string::npos, mark = 0;
    while (ni < n.size()) {
        if (pi < p.size() && (p[pi] == '?' || p[pi] == n[ni])) {
            ++pi;
            ++ni;
        } else if (pi < p.size() && p[pi] == '*') {
            star = pi++;
            mark = ni;
        } else if (star != std::string::npos) {
            pi = star + 1;
            ni = ++mark;
        } else {
            return false;
        }
    }
    while (pi < p.size() && p[pi] == '*') ++pi;
    return pi == p.size();
}

FolderScan scanImageFolder(const fs::path& root, const FolderScanOptions& options,
                           const std::vector<std::string>& modelLabels) {
    std::error_code ec;
    if (!fs::exists(root, ec)) throw Error("folder '" + root.string() + "' does not exist; give a folder of images");
    if (!fs::is_directory(root, ec))
        throw Error("'" + root.string() + "' is not a folder; give a folder of images (or use --image for one file)");
    if (options.max_count < 0)
        throw Error("the maximum count " + std::to_string(options.max_count) + " is not valid; use 0 for all images");
    const auto& patterns = options.patterns.empty() ? defaultPatterns() : options.patterns;

    FolderScan scan;
    scan.root = root;
    std::vector<std::pair<std::string, fs::path>> files;  // id, path
    std::vector<std::string> unreadableFolders;
    fs::recursive_directory_iterator it(root, fs::directory_options::skip_permission_denied, ec);
    if (ec) throw Error("cannot list folder '" + root.string() + "': " + ec.message());
    for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
        if (ec) {
            unreadableFolders.push_back(ec.message());
            ec.clear();
            continue;
        }
        const fs::path& p = it->path();
        if (isHidden(p)) {
            if (it->is_directory(ec)) it.disable_recursion_pending();
            continue;
        }
        if (!it->is_regular_file(ec)) continue;
        const std::string name = p.filename().string();
        if (std::none_of(patterns.begin(), patterns.end(),
                         [&](const std::string& pat) { return patternMatches(pat, name); }))
            continue;
        files.emplace_back(fs::relative(p, root, ec).generic_string(), p);
    }
    if (files.empty()) {
        std::string pats;
        for (const auto& p : patterns) pats += (pats.empty() ? "" : " ") + p;
        throw Error("folder '" + root.string() + "' holds no image matching " + pats +
                    " (searched its sub-folders too); choose another folder or other patterns");
    }
    std::sort(files.begin(), files.end());
    scan.found = static_cast<int>(files.size());
    for (const auto& m : unreadableFolders) scan.notes.push_back("skipped an unreadable entry: " + m);

    // Class folders: the first path component of files below the root.
    std::set<std::string> folders;
    bool filesInRoot = false;
    for (const auto& [id, p] : files) {
        const auto slash = id.find('/');
        if (slash == std::string::npos)
            filesInRoot = true;
        else
            folders.insert(id.substr(0, slash));
    }
    // The mapping file first, then the folder's own name.
    std::map<std::string, int> classOfFolder;
    const auto map =
        options.label_map.empty() ? std::map<std::string, int>{} : readLabelMap(options.label_map, modelLabels);
    for (const auto& f : folders) {
        auto m = map.find(f);
        const int c = m != map.end() ? m->second : classOf(f, modelLabels);
        if (c >= 0) classOfFolder[f] = c;
    }
    if (!classOfFolder.empty() && classOfFolder.size() < folders.size()) {
        std::string missing;
        int shown = 0;
        for (const auto& f : folders)
            if (!classOfFolder.count(f) && shown++ < 5) missing += (missing.empty() ? "'" : ", '") + f + "'";
        const int unknown = static_cast<int>(folders.size() - classOfFolder.size());
        throw Error("folder '" + root.string() + "': " + std::to_string(classOfFolder.size()) + " of " +
                    std::to_string(folders.size()) + " sub-folders name a class of the model, " +
                    std::to_string(unknown) + " do not (" + missing + (unknown > 5 ? ", ..." : "") +
                    "); rename them like the model's labels or class indices, or give a mapping file "
                    "(--labels FILE: one 'folder,label' per line)");
    }
    scan.labelled = !classOfFolder.empty();
    for (const auto& [f, c] : classOfFolder) scan.class_folders.push_back(f);
    if (scan.labelled) {
        scan.notes.push_back("class folders: " + std::to_string(classOfFolder.size()) +
                             " sub-folders name the model's classes, so each image's true class is known");
        if (filesInRoot)
            scan.notes.push_back("images directly in '" + root.string() + "' have no class folder: no true class");
    } else if (!folders.empty() && !modelLabels.empty()) {
        scan.notes.push_back("no sub-folder names a class of the model: true classes unknown (no accuracy)");
    }

    // Which files: the first max_count in name order, or a random sample of them.
    std::vector<size_t> chosen(files.size());
    for (size_t i = 0; i < chosen.size(); ++i) chosen[i] = i;
    if (options.max_count > 0 && static_cast<size_t>(options.max_count) < files.size()) {
        if (options.random_sample) {
            std::mt19937_64 rng(options.seed);
            std::shuffle(chosen.begin(), chosen.end(), rng);
            chosen.resize(static_cast<size_t>(options.max_count));
            std::sort(chosen.begin(), chosen.end());
            scan.notes.push_back("a random sample of " + std::to_string(options.max_count) + " of " +
                                 std::to_string(files.size()) + " images (seed " + std::to_string(options.seed) + ")");
        } else {
            chosen.resize(static_cast<size_t>(options.max_count));
            scan.notes.push_back("the first " + std::to_string(options.max_count) + " of " +
                                 std::to_string(files.size()) + " images in name order");
        }
    }

    // Output folders: the id without its extension, unless two files differ only by it.
    std::map<std::string, int> stems;
    for (size_t i : chosen) {
        const fs::path id(files[i].first);
        stems[(id.parent_path() / id.stem()).generic_string()]++;
    }
    for (size_t i : chosen) {
        FolderItem item;
        item.id = files[i].first;
        item.file = files[i].second;
        const fs::path id(item.id);
        const std::string stem = (id.parent_path() / id.stem()).generic_string();
        item.folder = stems[stem] > 1 ? stem + "_" + id.extension().string().substr(1) : stem;
        const auto slash = item.id.find('/');
        if (slash != std::string::npos) item.class_folder = item.id.substr(0, slash);
        auto c = classOfFolder.find(item.class_folder);
        if (c != classOfFolder.end()) {
            item.true_index = c->second;
            item.true_label = modelLabels.at(static_cast<size_t>(c->second));
        }
        scan.items.push_back(std::move(item));
    }
    return scan;
}

}  // namespace mirada
