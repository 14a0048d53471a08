// Named compression recipes for kite-convert (--recipe NAME): each is the documented best
// pipeline for a size budget (docs/compression.md), written as the options it stands for, so
// users need not learn every compression flag. Host tools only.
#pragma once

#include <string>
#include <vector>

namespace kite::convert {

/// One recipe: its name, what it gives (for --help) and the options it expands to.
struct Recipe {
  std::string name;                ///< "4.5bpw"
  std::string summary;             ///< help text lines, '\n'-separated
  std::vector<std::string> args;   ///< the kite-convert options it stands for (--calib aside)
  /// Empty when the recipe runs; otherwise why it cannot yet (the error message's reason).
  std::string unavailable;
  /// Wall minutes it took on stories260K on 2 cores (docs/compression.md); larger models
  /// take longer.
  int minutes = 0;
};

/// Every recipe, in help order. The array is static.
const std::vector<Recipe>& Recipes();

/// The recipe named `name`, or null.
const Recipe* FindRecipe(const std::string& name);

/// The progress line kite-convert prints when recipe `r` starts: its options and its time on
/// stories260K on 2 cores, saying so first when that was over 10 minutes.
std::string RecipeStartLine(const Recipe& r);

/// The command line with --recipe NAME (or --recipe=NAME) replaced by the recipe's options,
/// put first so that options the user gives override them (the flag parser keeps a flag's
/// last value); arguments after "--" are left alone. Stores the recipe's name in *recipe
/// ("" when none). Returns "" or the error for the user (unknown or unavailable recipe,
/// --recipe given twice or without a value).
std::string ExpandRecipe(const std::vector<std::string>& args, std::vector<std::string>* out,
                         std::string* recipe);

}  // namespace kite::convert
