"""Hand-written text the corpus generator composes threads from (all written for this project).

Each subreddit has slot values (``fills``), threads with answers that fit them, and general
comments that fit any thread there. ``{slot}`` names are filled once per thread, so a title
and the answers under it talk about the same thing.
"""

from __future__ import annotations

from typing import Any

SUBREDDITS: dict[str, dict[str, Any]] = {
    "learnpython": {
        "title": "Learn Python",
        "description": "Questions and help for people learning Python. Post your code!",
        "fills": {
            "thing": [
                "list comprehensions",
                "generators",
                "dataclasses",
                "type hints",
                "context managers",
                "decorators",
                "pathlib",
            ],
            "error": [
                "KeyError",
                "IndexError: list index out of range",
                "UnicodeDecodeError",
                "ValueError: too many values to unpack",
            ],
            "resource": [
                "Automate the Boring Stuff",
                "the official tutorial",
                "Python Crash Course",
                "Real Python",
            ],
        },
        "threads": [
            {
                "title": "Why does my loop only run once?",
                "selftext": "I have a for loop over a list of filenames but it stops after the "
                "first file. No error, it just exits. I put a return inside the loop because I "
                "wanted the function to give back the result. Is that the problem?",
                "answers": [
                    "Yes, that's it. return ends the whole function the first time it runs. Make "
                    "an empty list before the loop, append to it inside, and return it after.",
                    "Classic one. If you only need to process the files and not collect anything, "
                    "you don't need a return at all.",
                    "Tip for next time: put a print at the top of the loop body. If it "
                    "prints once, "
                    "something inside is leaving the loop early, usually return or break.",
                ],
            },
            {
                "title": "{error} when reading a CSV, what am I doing wrong?",
                "selftext": "I'm reading a CSV with the csv module and building a dict from it. "
                "Works on my test file, but on the real one I get {error}. The file has about "
                "4000 rows. Any ideas where to start?",
                "answers": [
                    "Your real file almost certainly has a row that doesn't look like the others. "
                    "Wrap the loop body in try/except, print the line number and the row, and "
                    "you'll find it in a minute.",
                    "Open the file with encoding='utf-8-sig' and newline=''. Exports from Excel "
                    "love to add a byte order mark and odd line endings.",
                    "Use csv.DictReader instead of indexing the columns yourself. Then a short row "
                    "gives you None instead of blowing up.",
                ],
            },
            {
                "title": "Is it worth learning {thing} as a beginner?",
                "selftext": "I've been learning for about two months. People keep mentioning "
                "{thing} and I don't really get why I'd use it instead of what I already know. "
                "Should I bother yet?",
                "answers": [
                    "Learn to read {thing} now, learn to write them later. You'll meet them in "
                    "other people's code long before you need them in yours.",
                    "Not yet. Get comfortable with functions, loops and dicts first. {thing} "
                    "will make sense the day you have a problem they solve.",
                    "I ignored {thing} for a year and regret it a bit. Spend one evening on them, "
                    "it's not as deep as it sounds.",
                ],
            },
            {
                "title": "Finished my first project, a budget tracker! Feedback welcome",
                "selftext": "It reads my bank export, sorts spending into categories and prints "
                "a monthly summary. About 300 lines in one file. I know the code is messy, what "
                "would you change first?",
                "answers": [
                    "Congrats, finishing is the hard part! First change: move the category rules "
                    "out of the code into a small JSON or TOML file.",
                    "Split it into functions that each do one thing: read, categorise, summarise. "
                    "Then write a test for the categorise part, it's the one that will break.",
                    "Put the code on GitHub and link it, it's much easier to give useful feedback "
                    "on real code.",
                ],
            },
            {
                "title": "How do you actually get better after tutorials?",
                "selftext": "I can follow along with {resource} fine, but when I open an empty "
                "file I freeze. How did you get past that stage?",
                "answers": [
                    "Build something you actually need. A script that renames your photos or "
                    "tracks your runs. You'll look things up as you go and it sticks much better.",
                    "Start with the smallest possible version. Not 'a budget app', but 'a script "
                    "that prints the total of one column'. Then grow it.",
                    "Everyone freezes at the empty file. Write the steps as comments in plain "
                    "English first, then turn each comment into code.",
                ],
            },
            {
                "title": "Mutable default argument bit me today",
                "selftext": "Spent two hours on a function that kept remembering old values "
                "between calls. Turns out def f(items=[]) shares the list between calls. Why "
                "does Python even allow that?",
                "answers": [
                    "Default values are evaluated once, when the def runs, not on every call. Use "
                    "items=None and create the list inside the function.",
                    "Welcome to the club, everyone gets bitten by this exactly once. Linters like "
                    "ruff will warn you about it.",
                    "It's occasionally useful as a cheap cache, which is probably why it never "
                    "changed. But yeah, it's a trap.",
                ],
            },
            {
                "title": "pip install works but import still fails",
                "selftext": "I ran pip install requests, it says installed, but my script still "
                "says ModuleNotFoundError. I'm on Windows with VS Code.",
                "answers": [
                    "VS Code is probably running a different Python than the one pip installed "
                    "into. Check the interpreter in the bottom bar.",
                    "Always use python -m pip install. Then the package goes into the same "
                    "interpreter you run your script with.",
                    "Make a virtual environment per project and select it in VS Code. Saves you "
                    "from this whole class of problems.",
                ],
            },
            {
                "title": "What's the cleanest way to read a config file?",
                "selftext": "Small script, needs a few settings like paths and an API key. JSON, "
                "TOML, env vars, a .py file? What do people actually use?",
                "answers": [
                    "TOML with tomllib, it's in the standard library since 3.11. Keep the API key "
                    "in an environment variable, not in the file.",
                    "For a small script, a TOML file plus a dataclass to hold the values "
                    "is plenty.",
                    "Please don't use a .py file for config. It works until someone puts code in "
                    "it.",
                ],
            },
            {
                "title": "When should I use a class instead of functions?",
                "selftext": "Everything I write is just functions and it works. I keep reading "
                "that I should use classes. When does it actually help?",
                "answers": [
                    "When several functions keep passing the same three arguments around. That "
                    "bundle of state wants to be an object.",
                    "Functions are fine! Plenty of good Python is mostly functions. Reach for a "
                    "class when you have data plus behaviour that belongs to it.",
                    "Start with dataclasses. They're the gentlest way into classes.",
                ],
            },
        ],
        "comments": [
            "Post the full traceback, not just the last line. The line numbers tell us where "
            "to look.",
            "Run it in the debugger and step through it line by line. Watching the variables "
            "change teaches you more than any tutorial.",
            "Format your code as a code block please, the indentation got eaten.",
            "Print the value right before the line that fails. Nine times out of ten the data "
            "isn't what you think it is.",
            "I'd also recommend {resource}. Free, and it explains this better than I can.",
            "Good question, by the way. Lots of people wonder this and never ask.",
        ],
    },
    "Cooking": {
        "title": "Cooking",
        "description": "Recipes, techniques, questions and kitchen disasters.",
        "fills": {
            "dish": [
                "risotto",
                "chili",
                "fried rice",
                "roast chicken",
                "shakshuka",
                "french onion soup",
                "lentil soup",
            ],
            "ingredient": [
                "fish sauce",
                "miso",
                "smoked paprika",
                "anchovies",
                "lemon zest",
                "fresh thyme",
                "shallots",
            ],
            "tool": [
                "cast iron pan",
                "Dutch oven",
                "instant-read thermometer",
                "rice cooker",
                "stand mixer",
            ],
        },
        "threads": [
            {
                "title": "My {dish} always turns out bland. What am I missing?",
                "selftext": "I follow recipes pretty closely but the {dish} tastes flat every "
                "time. I do salt it. Is there a trick I'm missing?",
                "answers": [
                    "Acid. Almost every time someone says bland, the answer is a squeeze of lemon "
                    "or a splash of vinegar at the end.",
                    "Season in layers, not just at the end. A pinch when the onions go in, another "
                    "when the liquid goes in, then taste before serving.",
                    "Try a little {ingredient}. Not enough to taste it directly, just enough to "
                    "make everything taste more like itself.",
                ],
            },
            {
                "title": "Is a {tool} actually worth it?",
                "selftext": "Thinking about buying a {tool}. I cook most nights, nothing fancy. "
                "Would it change anything or is it hype?",
                "answers": [
                    "Best thing I bought for my kitchen, but only because I use it three times a "
                    "week. If you won't, skip it.",
                    "Borrow one from a friend for a week before you buy. You'll know quickly.",
                    "Buy a good one secondhand. They last forever and people sell them after "
                    "one use.",
                ],
            },
            {
                "title": "What's one ingredient that levelled up your cooking?",
                "selftext": "For me it was {ingredient}. I put it in everything now. What's yours?",
                "answers": [
                    "Good salt and a pepper grinder. Boring answer, huge difference.",
                    "Toasted sesame oil. A few drops at the end of a stir fry and it tastes like "
                    "takeout.",
                    "Parmesan rinds. Throw one in any soup or bean pot and fish it out at the end.",
                ],
            },
            {
                "title": "First time hosting Thanksgiving, help",
                "selftext": "Eight people, small kitchen, one oven. How do people time "
                "everything so it's all hot at the same moment?",
                "answers": [
                    "Make a timeline backwards from when you want to eat. Write it on paper and "
                    "tape it to the cabinet. Sounds silly, works great.",
                    "Pick sides that don't need the oven: mash on the stove, salad, slow cooker "
                    "stuffing. The oven is for the bird.",
                    "The turkey needs to rest for 30-40 minutes anyway. That's your oven window "
                    "for everything else.",
                ],
            },
            {
                "title": "Why does everything stick to my stainless pan?",
                "selftext": "Medium-high heat, oil in. Still sticks and tears, especially eggs "
                "and fish. What am I doing wrong?",
                "answers": [
                    "Preheat the pan empty until a drop of water skates around like a marble, "
                    "then add oil, then food.",
                    "You're moving it too soon. Let it sit and it will release on its own when "
                    "it's ready.",
                    "For eggs, honestly, just use nonstick. Life is short.",
                ],
            },
            {
                "title": "Cheap weeknight dinners that don't feel cheap?",
                "selftext": "Money is tight this month. Looking for dinners under five dollars a "
                "serving that still feel like a treat.",
                "answers": [
                    "Beans, rice, a fried egg and a good hot sauce. Costs nothing and I genuinely "
                    "crave it.",
                    "Pasta with garlic, chilli flakes, olive oil and lots of parmesan. Ten "
                    "minutes.",
                    "A whole chicken is cheap. Roast it Sunday, sandwiches Monday, soup Tuesday.",
                ],
            },
            {
                "title": "I finally nailed {dish} after ten tries",
                "selftext": "The secret was patience and way more salt than I was comfortable "
                "with. Happy dance.",
                "answers": [
                    "Congrats! {dish} is one of those dishes where the tenth try is when it "
                    "suddenly works.",
                    "More salt than you're comfortable with is the secret to most restaurant food, "
                    "honestly.",
                    "Write down exactly what you did before you forget!",
                ],
            },
            {
                "title": "How long do cooked leftovers really last?",
                "selftext": "My partner says three days, I say a week. Who's right? Mostly rice, "
                "chicken and soups.",
                "answers": [
                    "Your partner, mostly. Three to four days in the fridge is the usual advice.",
                    "Rice is the risky one. Cool it fast and eat it within a day or two.",
                    "Freeze portions on day one if you know you won't get to them. Soup freezes "
                    "beautifully.",
                ],
            },
        ],
        "comments": [
            "Brown the meat properly. Most people crowd the pan and end up steaming it grey.",
            "Salt your pasta water like you mean it. That alone fixed half my sauces.",
            "Taste as you go. Recipes are a starting point, your stove and ingredients differ.",
            "Kenji has a great write-up on exactly this, worth a search.",
            "This sub has taught me more than any cookbook.",
            "Saving this thread, great advice in here.",
        ],
    },
    "printSF": {
        "title": "printSF",
        "description": "Discussion of science fiction in print: novels, stories, authors.",
        "fills": {
            "book": [
                "The Left Hand of Darkness",
                "Hyperion",
                "A Fire Upon the Deep",
                "The Dispossessed",
                "Blindsight",
                "Children of Time",
                "Solaris",
                "Anathem",
                "Ancillary Justice",
            ],
            "author": [
                "Le Guin",
                "Vernor Vinge",
                "Adrian Tchaikovsky",
                "Iain M. Banks",
                "Ted Chiang",
                "Octavia Butler",
                "Ann Leckie",
            ],
            "theme": [
                "first contact",
                "generation ships",
                "post-scarcity societies",
                "time dilation",
                "uplifted animals",
            ],
        },
        "threads": [
            {
                "title": "Just finished {book} and I need to talk about the ending",
                "selftext": "No spoilers in the title but spoilers below. I closed the book and "
                "stared at the wall for ten minutes. Did the ending work for you?",
                "answers": [
                    "It divided people when it came out too. I think it's earned, but I get why "
                    "it frustrates some readers.",
                    "The ending only clicked for me on a reread. Everything is set up in the first "
                    "fifty pages.",
                    "Staring at the wall is the correct response. Give it a week and read the "
                    "last chapter again.",
                ],
            },
            {
                "title": "Looking for books about {theme}",
                "selftext": "I loved how {book} handled it. What else does {theme} really well? "
                "Older or newer, both fine.",
                "answers": [
                    "{book} is hard to beat, but try {author} next. Different tone, same sense "
                    "of scale.",
                    "Check the short fiction too. Some of the best {theme} stories are twenty "
                    "pages long.",
                    "There's a big recommendation thread on exactly this in the sidebar wiki.",
                ],
            },
            {
                "title": "Where should I start with {author}?",
                "selftext": "I keep seeing the name here. Which book is the best entry point, and "
                "which should I save for later?",
                "answers": [
                    "Start with {book}. If you like that, the rest of {author}'s work opens up "
                    "nicely.",
                    "Short stories first. You get a feel for the style without committing to a "
                    "600-page book.",
                    "Save the most famous one for later. It hits harder once you know the style.",
                ],
            },
            {
                "title": "Hard SF that is still fun to read?",
                "selftext": "I like the science to hold up, but I also want characters I care "
                "about. Recommendations?",
                "answers": [
                    "Project Hail Mary. Real science, and a narrator who is genuinely good "
                    "company.",
                    "{book}. The science is dense but the characters carry you through it.",
                    "Greg Egan if you want the hardest of the hard, but characters are not his "
                    "strong side.",
                ],
            },
            {
                "title": "Does {book} hold up today?",
                "selftext": "Thinking of rereading it after twenty years. Worried it won't be as "
                "good as I remember.",
                "answers": [
                    "I reread it last year and it mostly holds up. Some dialogue is dated, but the "
                    "ideas are still sharp.",
                    "It's a different book at forty than at twenty. Not worse, just different.",
                    "The prose holds up better than the technology, which is what you'd expect.",
                ],
            },
            {
                "title": "DNF'd {book} halfway, should I push on?",
                "selftext": "The first half is slow for me. People say it gets great. Is it worth "
                "pushing through?",
                "answers": [
                    "Push on. The second half recontextualises everything, and the slow start "
                    "turns out to be the point.",
                    "Counterpoint: if you're not enjoying it at the halfway mark, life's "
                    "too short. "
                    "Come back in a few years.",
                    "Try the audiobook for the middle section. It carried me through the "
                    "slow part.",
                ],
            },
            {
                "title": "Books where the aliens are truly alien",
                "selftext": "Tired of humans with forehead ridges. I want minds that are "
                "genuinely strange.",
                "answers": [
                    "Solaris. The whole book is about failing to understand something.",
                    "Blindsight, without question. It will make you question whether you're "
                    "conscious.",
                    "Children of Time does this beautifully with spiders, of all things.",
                ],
            },
        ],
        "comments": [
            "Adding to my list, thanks. This sub has wrecked my to-read pile.",
            "Seconding this. I came here to recommend the same book.",
            "{author} is great for this. Nobody else makes me feel that clever and that "
            "stupid in the same paragraph.",
            "Honestly the prose is what carries it. I'd read that author's shopping list.",
            "The audiobook version is excellent if you struggle with the pacing in print.",
            "Great thread. Lots of books here I'd never heard of.",
        ],
    },
    "gardening": {
        "title": "Gardening",
        "description": "Vegetables, flowers, houseplants, soil and everything that grows.",
        "fills": {
            "plant": [
                "tomatoes",
                "basil",
                "zucchini",
                "peppers",
                "lavender",
                "strawberries",
                "hydrangeas",
            ],
            "problem": [
                "yellow leaves",
                "white powder on the leaves",
                "brown spots on the leaves",
                "leaves curling up",
            ],
            "season": ["spring", "early summer", "autumn"],
        },
        "threads": [
            {
                "title": "My {plant} have {problem}, what's wrong?",
                "selftext": "Noticed it this week. Watering every two days, full sun most of the "
                "day. Is it saveable?",
                "answers": [
                    "{problem} is usually a watering issue. Stick your finger in the soil before "
                    "you water: if it's damp an inch down, wait.",
                    "Could be a fungal thing. Water the soil, not the leaves, water in the "
                    "morning, and pull off the worst leaves.",
                    "Post a photo of the underside of the leaves. Pests love to hide there.",
                ],
            },
            {
                "title": "First vegetable garden, what's easiest to start with?",
                "selftext": "Small raised bed, about 1 by 2 metres. I want something that won't "
                "die on me the first month.",
                "answers": [
                    "Radishes, lettuce and bush beans. Hard to kill and fast, which keeps you "
                    "motivated.",
                    "Zucchini. One plant will feed your whole street.",
                    "Herbs! Basil, parsley and chives earn their space every single week.",
                ],
            },
            {
                "title": "When do you plant garlic where you live?",
                "selftext": "Everyone online says autumn, but the advice seems to depend a lot on "
                "climate.",
                "answers": [
                    "Mid-October here, a few weeks before the ground freezes. Harvest in July when "
                    "the lower leaves brown.",
                    "Mild climate here, I plant in November and it's fine.",
                    "Buy seed garlic from a local grower, not the supermarket. It's "
                    "adapted to your "
                    "climate.",
                ],
            },
            {
                "title": "Compost smells terrible, help",
                "selftext": "It's wet and smells like rotten eggs. I add kitchen scraps and grass "
                "clippings.",
                "answers": [
                    "Too many greens. Add shredded cardboard or dry leaves and turn it. The smell "
                    "should be gone in a week.",
                    "Grass clippings in thick layers go slimy. Mix them in thin layers with dry "
                    "stuff.",
                    "Turn it more often. Rotten egg smell means no air is getting in.",
                ],
            },
            {
                "title": "How often should I water {plant}?",
                "selftext": "I keep reading conflicting advice. Clay soil, hot summers.",
                "answers": [
                    "Deep and less often beats a little every day. It makes the roots go down.",
                    "With clay, less often than you think. It holds water for a long time.",
                    "Mulch heavily and you'll water half as much.",
                ],
            },
            {
                "title": "Dealing with slugs without chemicals?",
                "selftext": "They ate every seedling I put out. Beer traps, copper tape, "
                "something else?",
                "answers": [
                    "Beer traps worked for me, but you have to empty them every morning. Not "
                    "glamorous.",
                    "Go out at night with a torch and a bucket. Grim but effective.",
                    "Grow seedlings bigger indoors before planting out. Slugs go for the tiny "
                    "ones.",
                ],
            },
            {
                "title": "Finally got a harvest of {plant}!",
                "selftext": "After two failed years. Changing the soil made all the difference.",
                "answers": [
                    "Congrats! There's nothing like eating something you grew yourself.",
                    "Soil is everything. What did you change it to?",
                    "Third time lucky, well done.",
                ],
            },
        ],
        "comments": [
            "Mulch. Honestly mulch solves half the problems people post here.",
            "Check the underside of the leaves too. Aphids love to hide there.",
            "Your local extension service will test your soil for very little money.",
            "What zone are you in? That changes the answer a lot.",
            "Great advice in this thread, saving it.",
            "I learned this the hard way last {season}.",
        ],
    },
    "personalfinance": {
        "title": "Personal Finance",
        "description": "Budgeting, saving, debt, investing and money questions.",
        "fills": {
            "amount": ["$5,000", "$12,000", "$30,000", "$2,400"],
            "debt": ["a credit card", "a car loan", "student loans", "medical bills"],
            "account": ["a Roth IRA", "a high-yield savings account", "an index fund"],
        },
        "threads": [
            {
                "title": "I have {amount} in {debt}. Where do I even start?",
                "selftext": "Just added it all up for the first time and I feel sick. I make "
                "about $3,200 a month after tax.",
                "answers": [
                    "List every debt with its interest rate and pay the highest rate first while "
                    "making the minimum on the rest. That's the avalanche method.",
                    "First build a small buffer, even $1,000, so a flat tyre doesn't go on the "
                    "card again.",
                    "Call the lender and ask about a lower rate or a payment plan. Worst case "
                    "they say no.",
                ],
            },
            {
                "title": "Should I pay off debt or invest?",
                "selftext": "I have {amount} saved and {debt} at 7%. My employer matches 4% in "
                "the 401(k). What order makes sense?",
                "answers": [
                    "Always take the full employer match first. It's an instant 100% return, "
                    "nothing else comes close.",
                    "Match first, then the 7% debt, then invest. Check the prime directive in the "
                    "wiki, it lays this out.",
                    "At 7% it's roughly a coin flip mathematically. Paying it off is a guaranteed "
                    "return, and it feels great.",
                ],
            },
            {
                "title": "How big should an emergency fund actually be?",
                "selftext": "Everyone says three to six months. Six months of what, exactly? All "
                "expenses or just the essentials?",
                "answers": [
                    "Six months of essential expenses: rent, food, insurance, minimum payments. "
                    "Not your streaming subscriptions.",
                    "Three months if your job is stable and you have two incomes, six or more if "
                    "not.",
                    "Keep it in a high-yield savings account so it at least keeps up a bit.",
                ],
            },
            {
                "title": "Got my first real job, what should I set up now?",
                "selftext": "Salary starts next month. I want to do things right from the start.",
                "answers": [
                    "Automate it. A fixed amount goes to savings on payday before you see it.",
                    "Sign up for the retirement plan on day one and take the full match.",
                    "Keep living like a student for one more year. That year of savings changes "
                    "everything.",
                ],
            },
            {
                "title": "Is {account} a good idea at 22?",
                "selftext": "I keep hearing about it but I don't really understand the difference "
                "from a normal savings account.",
                "answers": [
                    "{account} is a good move early on. Time in the market matters more than "
                    "picking the right fund.",
                    "Different jobs: savings is for money you need soon, investing is for money "
                    "you won't touch for years.",
                    "Yes. Future you will be very grateful to 22-year-old you.",
                ],
            },
            {
                "title": "Inherited {amount}, not sure what to do",
                "selftext": "Never had this much money at once. No debt apart from a small car "
                "loan. Don't want to waste it.",
                "answers": [
                    "Put it in a high-yield savings account while you decide. There's no rush to "
                    "do anything with a windfall.",
                    "Sorry for your loss. Take your time, and don't tell too many people about "
                    "the money.",
                    "Don't forget taxes on it, depending on where you live. Set some aside first.",
                ],
            },
            {
                "title": "Paid off {debt} today!",
                "selftext": "Three years of side gigs and saying no to things. Feels unreal.",
                "answers": [
                    "Congratulations! Now point those same payments at your savings and you won't "
                    "even notice.",
                    "Huge. Celebrate a little, you earned it.",
                    "This is the kind of post that keeps the rest of us going. Well done.",
                ],
            },
        ],
        "comments": [
            "Check the prime directive in the wiki. It answers this better than any comment.",
            "Write a budget, even a rough one. You can't plan what you don't measure.",
            "{amount} is a lot less scary once you have a plan. You've got this.",
            "Whatever you do, don't take financial advice from TikTok.",
            "Good on you for asking early. Most people don't.",
            "Talk to a fee-only advisor if you want someone to check your plan.",
        ],
    },
}
