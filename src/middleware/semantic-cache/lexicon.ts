import { keyOf } from "./facts.js";

/**
 * Closed English word classes the guards need: negation cues, number words,
 * units, calendar words, directional prepositions and a short list of
 * everyday antonyms. Written from grammar and common usage, not learned from
 * any data set; a host with its own vocabulary passes its own guards.
 */

export const NEGATIONS: ReadonlySet<string> = new Set(
  (
    "not no never none nobody nothing nowhere neither nor without cannot non nope " +
    "dont doesnt didnt isnt arent wasnt werent wont wouldnt shouldnt couldnt cant " +
    "havent hasnt hadnt aint mustnt neednt shant"
  ).split(" "),
);

/** Cardinal words by value; "one" counts only before a unit (it is a pronoun far more often). */
export const CARDINALS: ReadonlyMap<string, number> = new Map(
  Object.entries({
    zero: 0,
    one: 1,
    two: 2,
    three: 3,
    four: 4,
    five: 5,
    six: 6,
    seven: 7,
    eight: 8,
    nine: 9,
    ten: 10,
    eleven: 11,
    twelve: 12,
    thirteen: 13,
    fourteen: 14,
    fifteen: 15,
    sixteen: 16,
    seventeen: 17,
    eighteen: 18,
    nineteen: 19,
    twenty: 20,
    thirty: 30,
    forty: 40,
    fifty: 50,
    sixty: 60,
    seventy: 70,
    eighty: 80,
    ninety: 90,
    dozen: 12,
  }),
);

export const MULTIPLIERS: ReadonlyMap<string, number> = new Map(
  Object.entries({ hundred: 100, thousand: 1e3, million: 1e6, billion: 1e9, trillion: 1e12 }),
);

/** Ordinal words ("second" is left out: it is a unit of time as often). */
export const ORDINALS: ReadonlyMap<string, number> = new Map(
  Object.entries({
    first: 1,
    third: 3,
    fourth: 4,
    fifth: 5,
    sixth: 6,
    seventh: 7,
    eighth: 8,
    ninth: 9,
    tenth: 10,
  }),
);

/** Unit words to a canonical unit, so that "5 km" and "5 kilometres" agree and "5 km" and "5 miles" do not. */
export const UNITS: ReadonlyMap<string, string> = (() => {
  const groups: Record<string, string> = {
    ms: "ms millisecond milliseconds",
    s: "s sec secs second seconds",
    min: "min mins minute minutes",
    h: "h hr hrs hour hours",
    day: "day days",
    week: "week weeks wk wks",
    month: "month months mo",
    year: "year years yr yrs",
    decade: "decade decades",
    century: "century centuries",
    mm: "mm millimeter millimeters millimetre millimetres",
    cm: "cm centimeter centimeters centimetre centimetres",
    m: "m meter meters metre metres",
    km: "km kms kilometer kilometers kilometre kilometres",
    in: "inch inches",
    ft: "ft foot feet",
    yd: "yd yard yards",
    mi: "mi mile miles",
    mg: "mg milligram milligrams",
    g: "g gram grams gm",
    kg: "kg kgs kilo kilos kilogram kilograms",
    lb: "lb lbs pound pounds",
    oz: "oz ounce ounces",
    t: "ton tons tonne tonnes",
    ml: "ml milliliter milliliters millilitre millilitres",
    l: "l liter liters litre litres",
    gal: "gal gallon gallons",
    kb: "kb kilobyte kilobytes",
    mb: "mb megabyte megabytes",
    gb: "gb gigabyte gigabytes gig gigs",
    tb: "tb terabyte terabytes",
    pct: "% percent per cent pct",
    deg: "° degree degrees deg",
    c: "c celsius",
    f: "f fahrenheit",
    usd: "$ usd dollar dollars bucks",
    eur: "€ eur euro euros",
    gbp: "£ gbp",
    inr: "₹ inr rs rupee rupees",
    jpy: "¥ jpy yen",
    k: "k thousand",
    x: "x times",
    mph: "mph",
    kmh: "kmh kph",
    w: "w watt watts",
    kw: "kw kilowatt kilowatts",
    v: "v volt volts",
    hz: "hz hertz",
    ghz: "ghz gigahertz",
    mp: "mp megapixel megapixels",
    st: "st nd rd th",
  };
  const map = new Map<string, string>();
  for (const [unit, names] of Object.entries(groups)) for (const n of names.split(" ")) map.set(n, unit);
  return map;
})();

/** Calendar words: always a date, except "may" and "march", which count only next to a number or capitalized mid-sentence. */
export const CALENDAR: ReadonlyMap<string, string> = new Map(
  Object.entries({
    january: "jan",
    february: "feb",
    march: "mar",
    april: "apr",
    may: "may",
    june: "jun",
    july: "jul",
    august: "aug",
    september: "sep",
    october: "oct",
    november: "nov",
    december: "dec",
    monday: "mon",
    tuesday: "tue",
    wednesday: "wed",
    thursday: "thu",
    friday: "fri",
    saturday: "sat",
    sunday: "sun",
    summer: "summer",
    winter: "winter",
    autumn: "autumn",
    yesterday: "yesterday",
    today: "today",
    tomorrow: "tomorrow",
  }),
);

/** Prepositions that give their object a role: "from A to B" is not "from B to A". */
export const DIRECTIONAL: ReadonlySet<string> = new Set(
  "to from than into onto toward towards against over under before after".split(" "),
);

/** Connectors that make an order irrelevant: "A and B", "A or B", "A vs B". */
export const SYMMETRIC: ReadonlySet<string> = new Set("and or vs versus between with".split(" "));

/** Everyday antonyms, both ways round (keys as `keyOf` makes them: singular, lower case). */
export const ANTONYMS: ReadonlyMap<string, ReadonlySet<string>> = (() => {
  const pairs =
    "safe:dangerous safe:harmful good:bad best:worst better:worse true:false right:wrong " +
    "increase:decrease rise:fall up:down high:low higher:lower highest:lowest big:small bigger:smaller " +
    "biggest:smallest large:small larger:smaller largest:smallest long:short longer:shorter " +
    "longest:shortest fast:slow faster:slower fastest:slowest hot:cold warm:cold hotter:colder " +
    "cheap:expensive cheapest:expensive cheaper:expensive easy:hard easy:difficult easier:harder " +
    "easiest:hardest strong:weak stronger:weaker strongest:weakest strength:weakness rich:poor " +
    "richer:poorer richest:poorest old:new old:young older:younger oldest:youngest buy:sell " +
    "bought:sold buying:selling win:lose winning:losing won:lost winner:loser pro:con " +
    "advantage:disadvantage benefit:drawback start:stop begin:end open:close before:after " +
    "more:less most:least many:few max:min maximum:minimum positive:negative plus:minus add:remove " +
    "include:exclude accept:reject allow:forbid allow:prevent love:hate happy:sad success:failure " +
    "pass:fail north:south east:west left:right import:export input:output male:female man:woman " +
    "men:women boy:girl husband:wife father:mother dad:mom son:daughter brother:sister he:she " +
    "him:her his:her boyfriend:girlfriend day:night summer:winter morning:evening push:pull " +
    "early:late earlier:later earliest:latest first:last top:bottom inside:outside above:below " +
    "over:under enter:exit arrive:leave alive:dead always:never gain:lose gain:loss profit:loss " +
    "online:offline attack:defend ancient:modern past:future upper:lower heavy:light thick:thin " +
    "wet:dry full:empty loud:quiet hard:soft junior:senior major:minor private:public " +
    "introvert:extrovert introverted:extroverted optimist:pessimist optimistic:pessimistic " +
    "liberal:conservative leftist:rightist legal:banned win:loss cause:effect asleep:awake " +
    "borrow:lend give:take send:receive teacher:student employer:employee buyer:seller " +
    "parent:child king:queen friend:enemy rise:decline strengthen:weaken";
  const map = new Map<string, Set<string>>();
  const link = (a: string, b: string) => {
    const set = map.get(a) ?? new Set<string>();
    set.add(b);
    map.set(a, set);
  };
  for (const pair of pairs.split(" ")) {
    const [a, b] = pair.split(":").map(keyOf) as [string, string];
    link(a, b);
    link(b, a);
  }
  return map;
})();

/**
 * Words that carry little of a question's subject: hedges, intensifiers and
 * generic nouns. The content-words guard lets them differ ("What is a good
 * way to..." / "What is the best way to...").
 */
export const FILLERS: ReadonlySet<string> = new Set(
  (
    "really actually exactly basically generally usually ever still already quite rather pretty " +
    "truly simply just thing way something anything everything good best better great possible " +
    "some certain kind sort type please thanks thank hi hello hey"
  ).split(" "),
);
