#include "tools/convert/recipes.h"

namespace kite::convert {

const std::vector<Recipe>& Recipes() {
  // Each row is the pipeline docs/compression.md measured for the budget (stories260K, dev
  // text, context 256): change them together.
  static const std::vector<Recipe> recipes = {
      {"4.5bpw",
       "4.5 bits/weight or less: the embedding and output\n"
       "head in offset-free 4-bit groups of 32, every other\n"
       "matrix in 4-bit groups of 64 (no sensitivity\n"
       "measurements: the head is by far the most sensitive),\n"
       "GPTQ, then distillation with code training on 65,536\n"
       "calibration tokens. stories260K: 4.46 bits/weight,\n"
       "KLD 0.041, top-1 90.3%; about 9 minutes on 2 loaded\n"
       "cores (1 minute of CPU).",
       {"--quant", "q4", "--q4-groups", "sym-compact", "--group-size", "64", "--q4-g32",
        "tok_embeddings,output", "--keep-8bit", "none", "--calib-tokens", "65536", "--distill"},
       "",
       9},
      {"2:4",
       "2:4 sparse 4-bit (3.25 bits/weight in the layers):\n"
       "SparseGPT's 2:4 mask with compensation, then 4,000\n"
       "distillation steps with code training on up to\n"
       "300,000 calibration tokens. stories260K: KLD 0.24,\n"
       "top-1 78.7% (this tiny model has no weights to\n"
       "spare); about 15 minutes on 2 cores.",
       {"--quant", "q4", "--prune", "2:4-sparsegpt", "--calib-tokens", "300000", "--distill",
        "--distill-steps", "4000"},
       "",
       15},
      {"3.5bpw",
       "3.5 bits/weight: offset-free groups, every matrix\n"
       "measured at 3 bits in groups of 32 and 64; from all\n"
       "3-bit groups of 64 the most sensitive are upgraded\n"
       "(--bpw 3.5 --bpw-3bit, GPTQ), then distillation.\n"
       "stories260K: 3.50 bits/weight, KLD 0.373, top-1 72.8%\n"
       "(far from issue 17's KLD 0.018); about 13 minutes on\n"
       "2 loaded cores (half of it distillation).",
       {"--quant", "q4", "--q4-groups", "sym-compact", "--bpw", "3.5", "--bpw-3bit", "--distill"},
       "",
       13},
  };
  return recipes;
}

const Recipe* FindRecipe(const std::string& name) {
  for (const Recipe& r : Recipes()) {
    if (r.name == name) return &r;
  }
  return nullptr;
}

std::string RecipeStartLine(const Recipe& r) {
  std::string line = "recipe " + r.name + ":";
  for (const std::string& a : r.args) line += " " + a;
  line += r.minutes > 10 ? "; takes over 10 minutes: about " : "; about ";
  line += std::to_string(r.minutes) + " minutes on 2 cores for stories260K, longer for larger models";
  return line;
}

std::string ExpandRecipe(const std::vector<std::string>& args, std::vector<std::string>* out,
                         std::string* recipe) {
  static const std::string kFlag = "--recipe";
  recipe->clear();
  std::vector<std::string> rest;
  bool found = false;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--") {
      rest.insert(rest.end(), args.begin() + static_cast<std::ptrdiff_t>(i), args.end());
      break;
    }
    std::string name;
    if (args[i] == kFlag) {
      if (i + 1 == args.size()) return "--recipe needs a value (4.5bpw, 2:4 or 3.5bpw)";
      name = args[++i];
    } else if (args[i].rfind(kFlag + "=", 0) == 0) {
      name = args[i].substr(kFlag.size() + 1);
    } else {
      rest.push_back(args[i]);
      continue;
    }
    if (found) return "--recipe is given twice";
    found = true;
    const Recipe* r = FindRecipe(name);
    if (r == nullptr) {
      std::string names;
      for (const Recipe& each : Recipes()) names += (names.empty() ? "" : ", ") + each.name;
      return "--recipe must be one of " + names + ", not '" + name + "'";
    }
    if (!r->unavailable.empty()) return "--recipe " + name + " is not available: " + r->unavailable;
    *recipe = name;
  }
  out->clear();
  if (found) {
    const Recipe* r = FindRecipe(*recipe);
    out->insert(out->end(), r->args.begin(), r->args.end());
  }
  out->insert(out->end(), rest.begin(), rest.end());
  return "";
}

}  // namespace kite::convert
