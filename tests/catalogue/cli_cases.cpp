// Catalogue rows: command-line flags, input files and the files `offramp plot` reads.
#include "tests/catalogue/catalogue.h"

namespace offramp::test::catalogue {

std::vector<BadInput> cli_cases() {
  const auto input = [](const char* name, std::string text) {
    return [name, text](const fs::path&, const fs::path& s) { write_text(s / name, text); };
  };
  return {
      // Flags.
      {"flag_unknown_subcommand", Base::None, {}, "frobnicate", "", {"unknown command 'frobnicate'", "classify"}},
      {"flag_unknown", Base::Tiny, {}, "classify {model} --bogus-flag", "good\n", {"--bogus-flag"}},
      {"flag_missing_model", Base::None, {}, "classify", "", {"MODEL", "required"}},
      {"flag_threshold_not_a_number", Base::Tiny, {}, "classify {model} --threshold abc", "good\n", {"--threshold", "abc"}},
      {"flag_threshold_negative", Base::Tiny, {}, "classify {model} --threshold -1", "good\n", {"--threshold", "-1"}},
      {"flag_unknown_policy", Base::Tiny, {}, "classify {model} --policy greedy", "good\n", {"--policy", "greedy"}},
      {"flag_unknown_device", Base::Tiny, {}, "classify {model} --device tpu", "good\n", {"--device", "tpu"}},
      {"flag_int8_on_the_gpu", Base::Tiny, {}, "classify {model} --device cuda --precision int8", "good\n",
       {"--precision int8 with --device cuda", "CPU only"}},
      {"quantize_unknown_precision", Base::Tiny, {}, "quantize {model} --precision int4 --out {scratch}/q", "",
       {"--precision", "int4"}},
      {"quantize_into_a_full_directory", Base::Tiny, input("keep.txt", "x"), "quantize {model} --precision int8 --out {scratch}",
       "", {"exists and is not an empty directory"}},
      {"serve_two_models_of_one_name", Base::Tiny, {}, "serve {model} {model} --http-port 0", "",
       {"two models are named", "NAME=DIR"}},
      {"serve_a_missing_model", Base::Tiny, {}, "serve foods={scratch}/none --http-port 0", "", {"none"}},
      {"serve_port_out_of_range", Base::Tiny, {}, "serve {model} --http-port 70000", "", {"--http-port", "70000"}},
      {"flag_fp16_on_the_cpu", Base::Tiny, {}, "classify {model} --device cpu --precision fp16", "good\n",
       {"--precision fp16 runs on the GPU only"}},
      {"flag_max_length_one", Base::Tiny, {}, "classify {model} --max-length 1", "good\n", {"--max-length", "1"}},
      {"flag_max_length_past_positions", Base::Tiny, {}, "classify {model} --max-length 4096", "good\n",
       {"max_length 4096 must lie in 2..128"}},
      {"flag_batch_size_zero", Base::Tiny, {}, "classify {model} --batch-size 0", "good\n", {"--batch-size", "0"}},
      {"flag_negative_threads", Base::Tiny, {}, "classify {model} --threads -3", "good\n", {"--threads", "-3"}},
      {"flag_unknown_input_format", Base::Tiny, {}, "classify {model} --format csv", "good\n", {"--format", "csv"}},
      {"flag_tokenize_unknown_output_format", Base::Tiny, {}, "tokenize {model} --format xml", "good\n", {"--format", "xml"}},
      {"flag_calibrate_budget_above_one", Base::Tiny, {}, "calibrate {model} - --budget 2 --no-plot", "great\tgood\n",
       {"--budget", "2"}},
      {"flag_calibrate_out_not_writable", Base::Tiny, {}, "calibrate {model} - --out /proc/offramp --no-plot",
       "great\tgood\nother\tbad\n", {"/proc/offramp", "cannot write the calibration output here"}},
      {"flag_calibrate_unknown_policy", Base::Tiny, {}, "calibrate {model} - --policy greedy --no-plot", "great\tgood\n",
       {"--policy", "greedy"}},
      {"flag_calibrate_max_drop_and_budget", Base::Tiny, {}, "calibrate {model} - --max-drop 1 --budget 0.5 --no-plot",
       "great\tgood\n", {"--max-drop", "--budget"}},
      {"flag_calibrate_delta_with_budget", Base::Tiny, {}, "calibrate {model} - --budget 0.5 --delta 0.1 --no-plot",
       "great\tgood\n", {"--delta", "--budget"}},
      {"flag_calibrate_delta_above_one_half", Base::Tiny, {}, "calibrate {model} - --delta 0.9 --no-plot", "great\tgood\n",
       {"--delta", "0.9"}},
      {"flag_classify_static_exit_layer_without_head", Base::Tiny, {}, "classify {model} --policy static --exit-layer 5",
       "good\n", {"exit_layer", "(1, 2)", "got 5"}},
      {"flag_validate_too_few_inputs", Base::Tiny, {}, "validate {model} -", "great\tgood\nother\tbad\n",
       {"too few inputs (2)"}},
      {"flag_validate_zero_splits", Base::Tiny, {}, "validate {model} - --splits 0", "great\tgood\n", {"--splits", "0"}},
      {"flag_plot_zero_threads", Base::None, {}, "plot x.json --threads 0", "", {"--threads", "0"}},

      // Input files.
      {"input_missing_file", Base::Tiny, {}, "classify {model} /no/such/file.txt", "", {"/no/such/file.txt", "cannot open"}},
      {"input_is_a_directory", Base::Tiny, {}, "classify {model} {scratch}", "", {"is a directory, not an input file"}},
      {"input_empty", Base::Tiny, {}, "classify {model}", "", {"<stdin>", "empty"}},
      {"input_empty_line", Base::Tiny, {}, "classify {model}", "good\n\nbad\n", {"<stdin>:2: empty text"}},
      {"input_only_whitespace", Base::Tiny, {}, "classify {model}", "good\n \t \nbad\n", {"<stdin>:2: empty text"}},
      {"input_tsv_line_without_tab", Base::Tiny, {}, "classify {model} --format tsv -", "great\tgood\nno tab here\n",
       {"<stdin>:2: expected 'label<TAB>text'"}},
      {"input_tsv_empty_label", Base::Tiny, {}, "classify {model} -", "great\tgood\n\tbad\n", {"<stdin>:2", "empty label"}},
      {"input_tsv_empty_text", Base::Tiny, {}, "classify {model} -", "great\tgood\nother\t\n", {"<stdin>:2: empty text"}},
      {"input_unknown_label", Base::Tiny, {}, "classify {model} -", "great\tgood\nawful\tbad\n",
       {"<stdin>:2: unknown label 'awful'", "great, other"}},
      {"input_unknown_label_in_a_file", Base::Tiny, input("dev.tsv", "great\tgood\nawful\tbad\n"),
       "evaluate {model} {scratch}/dev.tsv", "", {"dev.tsv:2: unknown label 'awful'"}},
      {"input_evaluate_unlabelled_text", Base::Tiny, {}, "evaluate {model} -", "good\nbad\n", {"<stdin>:1", "label"}},
      {"input_calibrate_unlabelled_text", Base::Tiny, {}, "calibrate {model} - --no-plot", "good\nbad\n", {"<stdin>:1", "label"}},
      {"input_evaluate_json_not_writable", Base::Tiny, {}, "evaluate {model} - --json /proc/offramp/out.json",
       "great\tgood\n", {"/proc/offramp/out.json", "cannot write here", "--json"}},
      {"plot_input_is_a_directory", Base::None, {}, "plot {scratch} --out {scratch}/p", "", {"is a directory"}},

      // offramp plot's input (offramp-bench JSON).
      {"plot_missing_file", Base::None, {}, "plot {scratch}/none.json --out {scratch}/p", "", {"none.json", "cannot open"}},
      {"plot_not_json", Base::None, input("b.json", "{not json"), "plot {scratch}/b.json --out {scratch}/p", "",
       {"b.json", "not valid JSON"}},
      {"plot_no_benchmarks_array", Base::None, input("b.json", R"({"context": {}})"), "plot {scratch}/b.json --out {scratch}/p",
       "", {"b.json", "no \"benchmarks\" array"}},
      {"plot_counter_of_the_wrong_type", Base::None,
       input("b.json", R"({"benchmarks": [{"name": "Classify/real/b1/t2/full/cpu", "accuracy": "high", "relative_flops": 1, "inputs_per_s": 3}]})"),
       "plot {scratch}/b.json --out {scratch}/p", "", {"b.json", "not the shape of offramp-bench's JSON output"}},
      {"plot_thread_count_of_twenty_digits", Base::None,
       input("b.json", R"({"benchmarks": [{"name": "Classify/real/b1/t99999999999999999999/full/cpu", "accuracy": 1, "relative_flops": 1, "inputs_per_s": 3}]})"),
       "plot {scratch}/b.json --out {scratch}/p", "", {"b.json", "no Classify/real/"}},
      {"plot_no_runs_to_draw", Base::None, input("b.json", R"({"benchmarks": [{"name": "BM_other"}]})"),
       "plot {scratch}/b.json --out {scratch}/p", "", {"b.json", "no Classify/real/"}},
  };
}

}  // namespace offramp::test::catalogue
