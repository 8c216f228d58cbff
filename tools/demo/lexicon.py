"""Word lists and sentence templates for the demo store's generated training data.

Everyday English: the words a short review, a news headline or a note would use. Every list is split
into a training part and a held-out part by make_demo_store.py (a fixed hash of the word), so the
held-out sentences contain words and templates the training never saw.
"""

POSITIVE = """good great excellent wonderful amazing fantastic brilliant superb lovely delightful enjoyable
pleasant beautiful charming fun funny perfect outstanding terrific fabulous marvelous awesome nice sweet
impressive remarkable splendid stunning gorgeous touching moving inspiring uplifting clever smart witty
fresh tasty delicious cozy comfortable friendly helpful kind warm polite generous reliable fast smooth
solid strong memorable magical exciting thrilling gripping engaging entertaining heartwarming satisfying
refreshing relaxing peaceful cheerful happy glad joyful pleased proud excellent superb elegant graceful
stylish neat tidy clean bright sunny calm gentle honest fair valuable worthwhile affordable convenient
useful efficient powerful rich flawless spotless lively vivid epic incredible phenomenal exceptional
admirable likeable lovable adorable positive favorable"""

NEGATIVE = """bad terrible awful horrible dreadful poor boring dull bland tedious annoying disappointing
disgusting nasty ugly unpleasant mediocre weak lame silly stupid pointless useless worthless rude
unfriendly unhelpful slow broken dirty messy noisy cold stale soggy greasy salty bitter overpriced
expensive cheap flimsy fragile confusing messy clumsy awkward painful sad depressing miserable angry
upset frustrating irritating tiresome exhausting lousy crappy pathetic shoddy sloppy lazy careless
dishonest unfair unreliable uncomfortable inconvenient forgettable predictable shallow clichéd
overrated unbearable unwatchable unreadable inedible gross rotten smelly sticky faulty defective
damaged tasteless lifeless hopeless dreary gloomy grim harsh hostile mean cruel toxic negative
dismal atrocious abysmal appalling horrendous"""

POS_VERBS = "love loved adore adored enjoy enjoyed like liked recommend recommended admire admired appreciate appreciated treasure cherish praise"
NEG_VERBS = "hate hated dislike disliked despise despised regret regretted loathe detest avoid resent"

POS_NOUNS = "masterpiece delight joy treat gem pleasure triumph success winner blast"
NEG_NOUNS = "disaster mess waste failure nightmare joke letdown disappointment rip-off fiasco"

THINGS = """film movie book novel show series song album concert play meal dinner lunch breakfast pizza
burger coffee tea cake restaurant cafe hotel room service staff trip holiday vacation flight app phone
laptop camera game story ending acting music food place shop store product course class lesson teacher
city museum party wedding performance episode season team match car bike bed view beach garden park
tour guide driver apartment house neighborhood school book soup salad dessert wine beer show gift"""

INTENSIFIERS = "really very so truly absolutely totally quite extremely incredibly pretty super"

# topic: words that belong to one topic's headlines
SPORTS = """team match game player players coach season league goal goals score scored win won lose lost
victory defeat championship tournament final semifinal cup trophy medal olympics athlete athletes
stadium fans referee football soccer basketball baseball tennis golf hockey rugby cricket cycling
marathon race runner sprint swimmer swimming boxing boxer striker goalkeeper midfielder quarterback
pitcher inning touchdown penalty halftime overtime playoff playoffs champion champions title record
transfer club clubs squad training injury injured captain kickoff serve set tiebreak wicket lap
podium gold silver bronze sprinter skier skiing surfer surfing wrestling fixture derby"""

POLITICS = """government election elections vote votes voters voting minister president prime parliament
senate senator congress congressman lawmakers law laws bill policy policies party parties campaign
candidate candidates debate democracy democrats republicans opposition coalition cabinet governor
mayor council referendum ballot constitution court supreme judge justice rights reform reforms
diplomat diplomats embassy treaty sanctions summit negotiations protest protesters legislation
veto majority minority poll polls spokesman administration officials ministry foreign defense
immigration border citizens state federal regime dictator sovereignty alliance nato un united
nations election commission inauguration impeachment scandal corruption lobby"""

BUSINESS = """company companies market markets shares share stock stocks investors investment profit profits
revenue revenues sales earnings quarter quarterly growth economy economic bank banks banking
interest rates inflation prices price trade tariffs exports imports startup startups merger
acquisition deal deals ceo executive executives board shareholders dividend bonds loan loans
debt budget costs retail retailer customers consumers brand brands factory factories jobs
unemployment wages salary salaries industry industries firm firms billion million dollars euros
funding venture capital ipo layoffs supply chain manufacturing oil gas energy contract contracts
earnings forecast analysts wall street nasdaq index recession currency"""

SCIENCE = """scientists scientist research researchers study studies experiment experiments laboratory
lab discovery discovered planet planets space nasa rocket telescope astronomers galaxy galaxies star
stars universe physics physicist chemistry chemist biology biologist cells cell dna gene genes
genetic protein molecules atoms particle particles quantum climate species evolution fossil fossils
dinosaur dinosaurs vaccine virus bacteria medicine disease cure brain neurons theory data analysis
microscope satellite orbit mars moon solar energy carbon emissions ocean oceans ecosystem
mathematics mathematician equation algorithm robot robots artificial intelligence engineering
hypothesis journal findings observation spacecraft asteroid comet volcano earthquake geology"""

FIRST_NAMES = """James Mary John Patricia Robert Jennifer Michael Linda William Elizabeth David Barbara Richard
Susan Joseph Jessica Thomas Sarah Charles Karen Christopher Nancy Daniel Lisa Matthew Betty Anthony
Margaret Mark Sandra Donald Ashley Steven Kimberly Paul Emily Andrew Donna Joshua Michelle Kenneth
Carol Kevin Amanda Brian Melissa George Deborah Timothy Stephanie Ronald Rebecca Edward Sharon Jason
Laura Jeffrey Cynthia Ryan Kathleen Jacob Amy Gary Angela Nicholas Shirley Eric Anna Jonathan Brenda
Stephen Pamela Larry Emma Justin Nicole Scott Helen Brandon Samantha Benjamin Katherine Samuel
Christine Gregory Debra Alexander Rachel Frank Carolyn Patrick Janet Raymond Catherine Jack Maria
Dennis Heather Jerry Diane Tyler Ruth Aaron Julie Jose Olivia Adam Joyce Nathan Virginia Henry
Victoria Peter Kelly Zachary Lauren Douglas Christina Harold Joan Alice Bob Carlos Sofia Lucas Mia
Mohammed Fatima Ahmed Aisha Wei Li Chen Yuki Hiroshi Kenji Akira Priya Raj Arjun Anita Ivan Olga
Dmitri Natasha Pierre Claire Hans Greta Lars Ingrid Marco Giulia Luca Chiara Pablo Lucia Diego
Elena Omar Layla Kwame Amara Tomas Eva Jan Piotr Agnieszka Sven Astrid Noah Liam Ethan Ava Isabella
Chloe Zoe Leo Max Oscar Hugo Felix Nina Rosa Paula Ana Juan Miguel Sara Emil Freya"""

LAST_NAMES = """Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez
Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark
Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill Flores Green Adams
Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts Gomez Phillips Evans Turner Diaz Parker
Cruz Edwards Collins Reyes Stewart Morris Morales Murphy Cook Rogers Gutierrez Ortiz Morgan Cooper
Peterson Bailey Reed Kelly Howard Ramos Kim Cox Ward Richardson Watson Brooks Chavez Wood James
Bennett Gray Mendoza Ruiz Hughes Price Alvarez Castillo Sanders Patel Myers Long Ross Foster Jimenez
Schmidt Muller Rossi Dubois Novak Kowalski Ivanov Petrov Tanaka Suzuki Sato Wang Zhang Liu Singh
Kumar Sharma Khan Ali Hassan Okafor Mensah Larsen Nielsen Jensen Andersson Berg Costa Silva Santos"""

CITIES = """London Paris Berlin Madrid Rome Vienna Prague Warsaw Budapest Amsterdam Brussels Lisbon Dublin
Stockholm Oslo Copenhagen Helsinki Athens Istanbul Moscow Kyiv Cairo Lagos Nairobi Johannesburg Tokyo
Osaka Seoul Beijing Shanghai Delhi Mumbai Bangkok Jakarta Manila Singapore Sydney Melbourne Auckland
Toronto Vancouver Montreal Chicago Boston Seattle Denver Houston Dallas Atlanta Miami Phoenix Detroit
Mexico Lima Bogota Santiago Buenos Aires Sao Paulo Rio Havana Dubai Tehran Baghdad Karachi Dhaka
Hamburg Munich Frankfurt Milan Naples Barcelona Seville Valencia Lyon Marseille Geneva Zurich Oslo
Edinburgh Glasgow Manchester Liverpool Bristol Oxford Cambridge Krakow Porto Florence Venice Hanoi"""

MULTI_CITIES = ["New York", "Los Angeles", "San Francisco", "Hong Kong", "New Delhi", "Cape Town", "Tel Aviv",
                "Las Vegas", "Mexico City", "Buenos Aires", "Sao Paulo", "Kuala Lumpur", "Rio de Janeiro", "New Orleans",
                "San Diego", "Abu Dhabi"]

COUNTRIES = """France Germany Spain Italy Portugal Ireland England Scotland Wales Britain Poland Austria Hungary
Greece Turkey Russia Ukraine Egypt Nigeria Kenya Ghana Ethiopia Morocco Japan China Korea India Pakistan
Thailand Vietnam Indonesia Australia Canada Mexico Brazil Argentina Chile Peru Colombia Cuba Sweden
Norway Denmark Finland Iceland Netherlands Belgium Switzerland Israel Iran Iraq Jordan Lebanon Syria
Europe Africa Asia America Texas California Florida Bavaria Tuscany Siberia Scandinavia"""

MULTI_COUNTRIES = ["United States", "United Kingdom", "South Africa", "South Korea", "New Zealand", "Saudi Arabia",
                   "Sri Lanka", "Costa Rica", "Czech Republic", "North America", "Latin America"]

ORGS = """Google Apple Microsoft Amazon Facebook Meta Netflix Tesla Toyota Honda Ford Siemens Samsung Sony
Intel IBM Oracle Nike Adidas Boeing Airbus Nestle Unilever Pfizer Shell Volkswagen BMW Mercedes Ikea
Spotify Uber Airbnb Twitter Reddit Walmart Starbucks Disney Nokia Ericsson Philips Lego Zara Audi
Nintendo Panasonic Huawei Alibaba Tencent Visa Mastercard Reuters UNESCO UNICEF NATO Interpol FIFA
Oxfam Greenpeace Harvard Stanford Yale Princeton MIT Oxford Cambridge NASA"""

MULTI_ORGS = ["United Nations", "World Bank", "Red Cross", "European Union", "Goldman Sachs", "General Motors",
              "Coca Cola", "Deutsche Bank", "World Health Organization", "Bank of England", "Federal Reserve",
              "BBC News", "New York Times", "Real Madrid", "Manchester United", "Bayern Munich", "Morgan Stanley",
              "Johnson and Johnson", "Procter and Gamble", "Mercedes Benz", "Royal Society", "Apple Music"]

ORG_SUFFIXES = "Inc Corp Group Bank Labs Motors Airlines Foods Systems Partners Media University Institute Foundation"

OBJECTS = ["a car", "a house", "a bike", "a phone", "a laptop", "a painting", "a ticket", "a book", "some flowers",
           "a dog", "a cat", "a boat", "a guitar", "a piano", "a watch", "a camera", "a new coat", "some shoes",
           "a sandwich", "a pizza", "a cake", "a present", "a lamp", "a sofa", "a table", "a chair", "a ring",
           "a necklace", "a map", "an umbrella", "a bag", "a hat", "a scarf", "some apples", "some bread", "a computer"]

DAYS = "Monday Tuesday Wednesday Thursday Friday Saturday Sunday"
MONTHS = "January February March April May June July August September October November December"

NEUTRAL = """the a an this that it is was were be been have has had do did will would can could should may
might must and or but so because if when while after before then there here they we you he she i me him
her us them my your his our their its of in on at to for with from by about into over under between
today yesterday tomorrow morning evening night week weekend year month day time people man woman child
family friend friends home work city town street road house room door window table water food money"""
