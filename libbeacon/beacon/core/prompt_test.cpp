#include <beacon/core/prompt.hpp>

#include <gtest/gtest.h>

namespace beacon {

TEST(Prompt, FillsRegionAndModelEverywhere) {
  EXPECT_EQ(render_system_prompt("You are {model}, based in {region}. ({region})", "eu-west", "mistral-7b"),
            "You are mistral-7b, based in eu-west. (eu-west)");
  EXPECT_EQ(render_system_prompt("no placeholders {x}", "r", "m"), "no placeholders {x}");
  EXPECT_EQ(render_system_prompt("", "r", "m"), "");
}

}  // namespace beacon
