// Test-only: a small labelled routing set, written here (the real data stays in ../shared/data).
import type { RoutingRecord } from "./examples.js";

export const WEAK = "small-model";
export const STRONG_MODEL = "large-model";

const easy = [
  "What is the capital of France?",
  "What is the capital of Japan?",
  "What is the capital city of Kenya?",
  "Translate good morning into Spanish",
  "Translate thank you into German",
  "Translate see you tomorrow into Italian",
  "Say hello to my friend Ana",
  "What colour is the sky on a clear day?",
  "Which capital city is larger, Rome or Madrid?",
  "Translate the word cat into French",
];
const hard = [
  "Prove that the square root of two is irrational, using contradiction",
  "Prove that there are infinitely many prime numbers by contradiction",
  "Prove the theorem that every bounded monotone sequence converges",
  "Derive the closed form of the integral of x times exp of x, and prove it by differentiation",
  "Prove by induction that the sum of the first n odd numbers is n squared",
  "Prove that a continuous function on a closed interval attains its maximum (theorem)",
  "Give a rigorous proof of the intermediate value theorem",
  "Prove that the harmonic series diverges, with a rigorous comparison argument",
];

/** Easy prompts: both models right (or only the small one). Hard ones: only the large model right. */
export const RECORDS: RoutingRecord[] = [
  ...easy.map((prompt, i) => ({
    id: `easy-${i}`,
    source: "easy",
    prompt,
    outcomes: { [WEAK]: { correct: i !== 3 }, [STRONG_MODEL]: { correct: true } },
  })),
  ...hard.map((prompt, i) => ({
    id: `hard-${i}`,
    source: "hard",
    prompt,
    outcomes: {
      [WEAK]: { correct: false, response: "I think it is true because it looks right." },
      [STRONG_MODEL]: {
        correct: i !== 0,
        response: "Suppose not. Then ... which contradicts the assumption. QED.",
      },
    },
  })),
];

export const JSONL = RECORDS.map((r) => JSON.stringify(r)).join("\n");
