// offramp-service: loads a model once, then answers requests (one text per stdin line)
// from a pool of worker threads sharing the one Classifier, as a service would.
//   offramp-service MODEL_DIR < texts.txt
#include <offramp/offramp.h>

#include <iostream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: offramp-service MODEL_DIR < texts.txt\n";
    return 2;
  }
  try {
    const auto clf = offramp::Classifier::load(argv[1]);
    std::vector<std::string> requests;
    for (std::string line; std::getline(std::cin, line);)
      if (!line.empty()) requests.push_back(line);
    std::vector<offramp::Result> answers(requests.size());
    std::vector<std::thread> workers;
    for (unsigned w = 0; w < 4; ++w)
      workers.emplace_back([&, w] {
        for (size_t i = w; i < requests.size(); i += 4) answers[i] = clf.classify(requests[i]);
      });
    for (auto& t : workers) t.join();
    for (const auto& r : answers)
      std::cout << "{\"label\": \"" << r.label << "\", \"confidence\": " << r.confidence
                << ", \"exit_layer\": " << r.exit_layer << ", \"flops\": " << r.flops << "}\n";
  } catch (const offramp::Error& e) {
    std::cerr << "offramp-service: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
