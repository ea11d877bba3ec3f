import { describe, expect, it } from "vitest";
import { localEmbedder } from "../../embeddings/local.js";
import * as frugal from "../../index.js";
import {
  antonymsGuard,
  argumentOrderGuard,
  contentWordsGuard,
  defaultGuards,
  entitiesGuard,
  guardRejection,
  lexicalGuards,
  negationGuard,
  numbersGuard,
  openingGuard,
  pointingGuard,
  questionGuard,
  quotesGuard,
  symbolsGuard,
} from "./guards.js";

/** Pairs that must never share an answer, whatever an embedder scores them (FAILURES.md C2). */
const MUST_MISS: readonly [string, string, string][] = [
  ["negation", "Is ibuprofen safe during pregnancy?", "Is ibuprofen not safe during pregnancy?"],
  ["negation", "Can I use my debit card abroad?", "Can't I use my debit card abroad?"],
  [
    "negation",
    "Which plans include international roaming?",
    "Which plans do not include international roaming?",
  ],
  ["negation", "How do I call the API with authentication?", "How do I call the API without authentication?"],
  ["negation", "Is it possible to freeze cooked rice?", "Is it impossible to freeze cooked rice?"],
  ["negation", "Should I ever restart the server?", "Should I never restart the server?"],
  ["antonym", "Is it safe to eat raw eggs?", "Is it dangerous to eat raw eggs?"],
  ["antonym", "What is the best month to buy a house?", "What is the best month to sell a house?"],
  ["antonym", "How do I increase my credit limit?", "How do I decrease my credit limit?"],
  ["antonym", "Which is the cheapest plan?", "Which is the most expensive plan?"],
  ["antonym", "What are the advantages of remote work?", "What are the disadvantages of remote work?"],
  ["swapped", "How do I convert Celsius to Fahrenheit?", "How do I convert Fahrenheit to Celsius?"],
  ["swapped", "Cheapest flights from Paris to London", "Cheapest flights from London to Paris"],
  ["swapped", "Is a dog bigger than a cat?", "Is a cat bigger than a dog?"],
  [
    "swapped",
    "How do I move files from Dropbox to OneDrive?",
    "How do I move files from OneDrive to Dropbox?",
  ],
  ["swapped", "Why do Poles dislike Russians?", "Why do Russians dislike Poles?"],
  ["entity", "Who is the CEO of Apple?", "Who is the CEO of Microsoft?"],
  ["entity", "What is the capital of Australia?", "What is the capital of Austria?"],
  ["entity", "How do I install Python on Windows?", "How do I install Python on Linux?"],
  ["entity", "How do I learn C++?", "How do I learn C#?"],
  ["entity", "Is the iPhone 15 waterproof?", "Is the Pixel 8 waterproof?"],
  ["digits", "What is 2+2?", "What is 2+3?"],
  ["digits", "What is 12 * 7?", "What is 12 + 7?"],
  ["digits", "What happened in 1989?", "What happened in 1991?"],
  ["digits", "Convert 100 USD to EUR", "Convert 250 USD to EUR"],
  ["digits", "What is two plus two?", "What is two plus three?"],
  ["digits", "What is the weather forecast for March 3?", "What is the weather forecast for March 4?"],
  ["units", "How long does it take to walk 5 km?", "How long does it take to walk 5 miles?"],
  ["units", "Set a timer for 10 minutes", "Set a timer for 10 hours"],
  ["units", "Is 30 mg of melatonin too much?", "Is 30 g of melatonin too much?"],
  ["dates", "What should I plant in April?", "What should I plant in October?"],
  ["quotes", 'What does "carpe diem" mean?', 'What does "memento mori" mean?'],
  ["question", "When was the telephone invented?", "Where was the telephone invented?"],
  ["question", "Why is the sky blue?", "Is the sky blue?"],
  ["question", "Is AFSPA good?", "What is AFSPA?"],
  ["question", "Can hummingbirds fly backwards?", "How do hummingbirds fly backwards?"],
  ["question", "Is meditation bad for you?", "Can meditation be bad for you?"],
  ["question", "Will I get into MIT?", "Should I get into MIT?"],
  ["pointing", "What type of insect is this?", "What type of insect is that?"],
  ["pointing", "How do I solve this maths problem?", "How do I solve this math problem?"],
  ["pointing", "Is the sentence below correct?", "Is the following sentence correct?"],
  ["symbols", "What does ~ mean in Python?", "What does % mean in Python?"],
  [
    "symbols",
    "What is the difference between # and ## in a C macro?",
    "What is the difference between ( ) and (,) in a C macro?",
  ],
];

/** Rewordings a cache should serve: the guards must let them through. */
const MUST_HIT: readonly [string, string][] = [
  ["How do I reset my router?", "How can I reset my router?"],
  ["What is the capital of France?", "What's the capital of France?"],
  ["How do I learn Python quickly?", "How can I learn Python quickly?"],
  ["What are the symptoms of diabetes?", "what are the symptoms of diabetes"],
  ["How to cancel my subscription?", "How do I cancel my subscription?"],
  ["Best way to learn guitar?", "What is the best way to learn guitar?"],
  ["Explain how photosynthesis works", "Explain how photosynthesis works, please"],
  ["Why is the sky blue?", "why is the sky blue"],
  ["How can I improve my public speaking skills?", "How do I improve my public speaking skills?"],
  [
    "What is the difference between a virus and a bacterium?",
    "What's the difference between a virus and a bacterium?",
  ],
  ["Tips for a job interview?", "What are some tips for a job interview?"],
  ["How does a refrigerator work?", "How do refrigerators work?"],
  ["Can you recommend a good book on Stoicism?", "Could you recommend a good book on Stoicism?"],
  ["Can you tell me the best way to learn guitar?", "What is the best way to learn guitar?"],
  ["Is there a way to read Quora offline?", "How can I read Quora offline?"],
  ["Does coffee dehydrate you?", "Do coffees dehydrate you?"],
  ["Which is better for a beginner, Python or Java?", "Which is better for a beginner, Java or Python?"],
];

/** Paraphrases with other words, as a model embedder matches them: the default guards (without the lexical ones) let them through. */
const SYNONYM_PARAPHRASES: readonly [string, string][] = [
  ["How can I learn Spanish fast?", "What is the quickest way to learn Spanish?"],
  ["How do I get rid of a headache?", "What can I do to relieve a headache?"],
  ["What is a good gift for my dad?", "Gift ideas for my father?"],
  ["How do I fix a flat bike tire?", "How to repair a punctured bicycle tyre?"],
  ["What are healthy breakfast ideas?", "Suggest some nutritious breakfasts"],
  ["How do I become a data scientist?", "What does it take to become a data scientist?"],
  ["What causes inflation?", "What are the causes of inflation?"],
  ["How do I stay motivated while studying?", "Tips to keep motivated when studying?"],
  ["Is coffee bad for my health?", "Is drinking coffee unhealthy for me?"],
  ["How do I write a cover letter?", "How should a cover letter be written?"],
];

describe("false-hit guards (FAILURES.md C2)", () => {
  it.each(MUST_MISS)("rejects a %s change: %j / %j", (_kind, a, b) => {
    expect(guardRejection(defaultGuards, a, b), `${a} / ${b}`).toBeDefined();
    expect(guardRejection(defaultGuards, b, a), `${b} / ${a}`).toBeDefined();
  });

  it("rejects the three named cases, each with the guard that explains it", () => {
    expect(numbersGuard.check("What is 2+2?", "What is 2+3?")).toMatch(/numbers differ/);
    expect(negationGuard.check("Is X safe?", "Is X not safe?")).toMatch(/negated/);
    expect(entitiesGuard.check("Who founded Apple?", "Who founded Google?")).toMatch(
      /named in one prompt only/,
    );
    expect(argumentOrderGuard.check("Flights from Rome to Oslo", "Flights from Oslo to Rome")).toMatch(
      /swap roles/,
    );
  });

  it("lets at least 80% of the rewordings through, with the lexical guards", () => {
    const passed = MUST_HIT.filter(([a, b]) => guardRejection(lexicalGuards, a, b) === undefined);
    expect(passed.length / MUST_HIT.length).toBeGreaterThanOrEqual(0.8);
  });

  it("lets at least 80% of the synonym paraphrases through, with the default guards", () => {
    const passed = SYNONYM_PARAPHRASES.filter(([a, b]) => guardRejection(defaultGuards, a, b) === undefined);
    expect(passed.length / SYNONYM_PARAPHRASES.length).toBeGreaterThanOrEqual(0.8);
  });

  it("reads how a question opens: yes/no or open, and which auxiliary asks", () => {
    expect(questionGuard.check("Is AFSPA good?", "What is AFSPA?")).toBe(
      "one prompt asks yes or no, the other an open question",
    );
    expect(questionGuard.check("Is it bad?", "Can it be bad?")).toBe(
      'one yes/no question opens with "is", the other with "can"',
    );
    expect(questionGuard.check("Is it bad?", "Was it bad?")).toBeUndefined(); // one auxiliary, two tenses
    expect(questionGuard.check("Does it hurt?", "Did it hurt?")).toBeUndefined();
    expect(questionGuard.check("Could you explain DNS?", "What is DNS?")).toBeUndefined(); // a polite request
    expect(questionGuard.check("Explain DNS", "Is DNS hard?")).toBeUndefined(); // no question opens the first
    expect(
      questionGuard.check("Which is your favourite book, and why?", "Which is your favourite book?"),
    ).toBeUndefined();
    expect(questionGuard.check("Why is the sky blue?", "Is the sky blue? Why?")).toBeDefined(); // yes/no against why
  });

  it("refuses prompts that point at what the cache cannot see, not at the present or at what they named", () => {
    expect(pointingGuard.check("What is this?", "What is this?")).toBe(
      '"this" points at something the cache cannot see',
    );
    expect(pointingGuard.check("Fix the code below.", "Fix the code below.")).toMatch(/"below"/);
    expect(pointingGuard.check("Summarize the attached file", "Summarize the file")).toMatch(
      /"the attached"/,
    );
    expect(
      pointingGuard.check("What are the trends this year?", "What are the trends this year?"),
    ).toBeUndefined();
    expect(
      pointingGuard.check(
        "What was the battle of the Somme, and why was this battle fought?",
        "Why was the battle of the Somme fought?",
      ),
    ).toBeUndefined();
    expect(pointingGuard.check("Is that true about sharks?", "Are sharks fish?")).toBeUndefined();
    expect(pointingGuard.check("How do I move above the clouds?", "How do I fly?")).toBeUndefined();
  });

  it("compares symbols that stand on their own, not those of names or arithmetic", () => {
    expect(symbolsGuard.check("What does ~ mean in C?", "What does % mean in C?")).toBe(
      '"~" is in one prompt only',
    );
    expect(symbolsGuard.check("Is C++ hard?", "Is C hard?")).toBeUndefined(); // the entities guard's
    expect(symbolsGuard.check("What is 2+2?", "What is 2 + 2?")).toBeUndefined(); // the numbers guard's
    expect(symbolsGuard.check("Pros & cons of Go?", "Pros and cons of Go?")).toBeUndefined();
    expect(symbolsGuard.check("What is AI? (short)", "What is AI - short?")).toBeUndefined();
  });

  it("asks a lexical match to open with the same question word (lexical guards)", () => {
    expect(openingGuard.check("How is paper made?", "What is paper?")).toBe(
      'one prompt opens with "how", the other with "what"',
    );
    expect(openingGuard.check("Which laptop should I buy?", "What laptop should I buy?")).toBeUndefined();
    expect(openingGuard.check("Tips for learning Go?", "How do I learn Go?")).toBeUndefined();
    expect(openingGuard.check("What is the best way to learn Go?", "How do I learn Go?")).toBeUndefined();
    expect(openingGuard.check("What does SMTP do?", "What is SMTP?")).toBe(
      'one prompt opens with "what ... do", the other with "what"',
    );
    expect(openingGuard.check("What are the uses of SMTP?", "What is SMTP used for?")).toBeUndefined();
    expect(lexicalGuards).toContain(openingGuard);
    expect(defaultGuards).not.toContain(openingGuard); // a model embedder matches such paraphrases
  });

  it("counts a content word said twice (lexical guards)", () => {
    expect(contentWordsGuard.check("Why is Kim famous for being famous?", "Why is Kim famous?")).toMatch(
      /"famous" is said more often/,
    );
    expect(contentWordsGuard.check("Why is Kim famous?", "Why is Kim so famous?")).toBeUndefined();
    expect(contentWordsGuard.check("Mind blowing facts?", "Mindblowing facts?")).toBeUndefined();
    expect(contentWordsGuard.check("Mindblowing facts?", "Mind blowing facts?")).toBeUndefined();
  });

  it("are exported from the package, as docs/semantic-cache.md imports them", () => {
    expect(frugal.defaultGuards).toBe(defaultGuards);
    expect(frugal.lexicalGuards).toBe(lexicalGuards);
    for (const guard of lexicalGuards) expect(Object.values(frugal)).toContain(guard);
  });

  it("reports which guard refused and why", () => {
    expect(guardRejection(defaultGuards, "What is 2+2?", "What is 2+3?")).toEqual({
      guard: "numbers",
      reason: "numbers differ (2, 2 vs 2, 3)",
    });
    expect(quotesGuard.check('Translate "hello"', 'Translate "goodbye"')).toMatch(/quoted "hello"/);
    expect(antonymsGuard.check("Should I buy Tesla stock?", "Should I sell Tesla stock?")).toBe(
      '"buy" against "sell"',
    );
  });

  it("reads a unit after a number, or a currency sign before it, never the last letter of the word before", () => {
    // "am 25", "of 25", "banning 500": the "m", "f" and "g" are not metres, Fahrenheit or grams.
    expect(
      numbersGuard.check("I am 25 and want to learn", "At the age of 25, I want to learn"),
    ).toBeUndefined();
    expect(
      numbersGuard.check("Why ban 500 and 1000 rupee notes?", "Why ban ₹500 and ₹1000 notes?"),
    ).toBeUndefined();
    expect(numbersGuard.check("Is $5 a fair tip?", "Is £5 a fair tip?")).toMatch(/units differ/);
    expect(numbersGuard.check("Is 5 km far?", "Is 5 miles far?")).toMatch(/units differ \(5 km vs 5 mi\)/);
  });

  it("reads 'today' against an undated prompt as the same time", () => {
    expect(
      numbersGuard.check("What is the best language to learn today?", "What is the best language to learn?"),
    ).toBeUndefined();
    expect(numbersGuard.check("What happened today?", "What happened yesterday?")).toMatch(/dates differ/);
  });

  it("reads numbers the way people write them", () => {
    expect(numbersGuard.check("Is 1,000 enough?", "Is 1000 enough?")).toBeUndefined();
    expect(numbersGuard.check("Walk 5 km", "Walk 5 kilometres")).toBeUndefined();
    expect(numbersGuard.check("twenty five people", "25 people")).toBeUndefined();
    expect(numbersGuard.check("Is 2.50 the price?", "Is 2.5 the price?")).toBeUndefined();
    expect(numbersGuard.check("Is 2.5 the price?", "Is 25 the price?")).toBeDefined();
    expect(numbersGuard.check("What can I do in May?", "What can I do in June?")).toBeDefined();
    expect(numbersGuard.check("May I ask a question?", "Can I ask a question?")).toBeUndefined();
  });

  it("treats a symmetric pair as unordered and a directional one as ordered", () => {
    expect(
      argumentOrderGuard.check("Messi or Ronaldo: who is better?", "Ronaldo or Messi: who is better?"),
    ).toBeUndefined();
    expect(
      argumentOrderGuard.check("Is Messi better than Ronaldo?", "Is Ronaldo better than Messi?"),
    ).toBeDefined();
    expect(
      argumentOrderGuard.check("Transfer from PayPal to my bank", "Transfer to my bank from PayPal"),
    ).toBeUndefined();
  });

  it("reads capitals only where they mean something", () => {
    // A sentence's first word and title case say nothing; Quora-style lower-case names still match.
    expect(
      entitiesGuard.check("Python or Java for a beginner?", "python or java for a beginner?"),
    ).toBeUndefined();
    expect(entitiesGuard.check("How To Learn Python Fast", "How to learn Python fast")).toBeUndefined();
    expect(entitiesGuard.check("I love Paris", "i love paris")).toBeUndefined();
  });
});

describe("the guards on adversarial input (FAILURES.md S5)", () => {
  const inputs = [
    "9".repeat(200_000),
    "1,".repeat(100_000),
    "1.".repeat(100_000),
    "a".repeat(200_000),
    "a-".repeat(100_000),
    "A.".repeat(100_000),
    "'".repeat(200_000),
    '"'.repeat(200_000),
    "\u201c".repeat(200_000),
    " '".repeat(100_000),
    "'a".repeat(100_000),
    "x ".repeat(100_000),
    "+".repeat(200_000),
    "2+".repeat(100_000),
    "C++ ".repeat(50_000),
    "not ".repeat(50_000),
    "from a to b ".repeat(20_000),
    "Aa".repeat(100_000),
    "\t\n ".repeat(70_000),
    `${"é".repeat(100_000)}!`,
    "this ".repeat(50_000),
    "this picture ".repeat(20_000),
    "~ ".repeat(100_000),
    "the below ".repeat(20_000),
    "famous ".repeat(30_000),
  ];

  it.each(inputs.map((s, i) => [i, s] as const))(
    "input %i: every guard answers within a bounded time",
    (_i, input) => {
      for (const guard of [...defaultGuards, ...lexicalGuards]) {
        const started = performance.now();
        guard.check(input, `${input.slice(0, 1000)} tail`);
        guard.check("What is 2+2?", input);
        expect(performance.now() - started, guard.name).toBeLessThan(1_500);
      }
    },
  );

  it("embeds adversarial input in bounded time", () => {
    const embedder = localEmbedder();
    for (const input of inputs) {
      const started = performance.now();
      embedder.embedOne(input);
      expect(performance.now() - started).toBeLessThan(1_500);
    }
  });
});
