"""Everyday English for the demo's grammar (data.py): the words a message, a review, a news line or a note
uses, with the forms the grammar needs. Lists are plain text so they are easy to read and extend.
Names, places and organisations stay in lexicon.py (they are split into training and held-out parts)."""

# verbs "base past" pairs: the grammar derives the third person (-s) form
VERBS_TRANSITIVE = """
see saw|watch watched|read read|write wrote|buy bought|sell sold|make made|cook cooked|bake baked|eat ate
drink drank|find found|lose lost|fix fixed|break broke|clean cleaned|paint painted|open opened|close closed
carry carried|bring brought|take took|send sent|order ordered|pick picked|wash washed|build built|draw drew
try tried|use used|check checked|need needed|want wanted|miss missed|forget forgot|remember remembered
borrow borrowed|return returned|share shared|show showed|keep kept|move moved|pack packed|hide hid|catch caught
throw threw|kick kicked|hold held|push pushed|pull pulled|drop dropped|fill filled|pay paid|rent rented
visit visited|plan planned|start started|finish finished|change changed|print printed|sign signed|answer answered
study studied|learn learned|teach taught|play played|sing sang|hear heard|call called|help helped|meet met
follow followed|join joined|leave left|feed fed|walk walked|wear wore|cut cut|grow grew|choose chose|count counted
"""

VERBS_INTRANSITIVE = """
sleep slept|run ran|swim swam|laugh laughed|smile smiled|cry cried|wait waited|arrive arrived|stay stayed
work worked|rest rested|dance danced|travel travelled|relax relaxed|talk talked|cook cooked|shop shopped
walk walked|drive drove|sit sat|stand stood|fall fell|win won|lose lost|study studied|play played|sing sang
"""

# the grammar turns these into present (is/are), past (was/were) and other forms
PEOPLE = """man woman boy girl kid kids child children baby teacher doctor nurse student students neighbour
neighbours friend friends family parents mother father mom dad sister brother aunt uncle cousin grandma
grandpa wife husband son daughter boss colleague colleagues waiter waitress driver pilot farmer cook chef
artist writer singer dancer guide guest guests visitor visitors tourist tourists customer customers owner
manager stranger lady gentleman couple team crowd class group police officer worker workers baker
shopkeeper postman cleaner engineer lawyer dentist vet librarian cashier receptionist landlord roommate
partner boyfriend girlfriend fan"""

THINGS_EVERYDAY = """book books letter note phone car bike bus train plane ticket tickets bag box bottle cup
glass plate bowl spoon fork knife table chair sofa bed lamp door window key keys wallet watch clock
coat jacket shirt dress shoes hat scarf umbrella computer laptop screen camera radio television tv
picture photo painting map newspaper magazine pen pencil paper card gift present flowers plant tree
garden kitchen bathroom bedroom house flat apartment room office shop store market bakery cafe
restaurant hotel school library hospital station airport park beach river lake sea mountain hill
forest street road bridge city town village farm field dog cat bird horse fish cow sheep chicken
apple apples bread cheese milk eggs rice pasta soup salad sandwich pizza cake cookies chocolate coffee
tea juice water wine beer breakfast lunch dinner meal snack fruit vegetables potatoes tomatoes carrots
song music movie film show game games toy toys ball guitar piano email message song album story idea
plan homework exam test lesson job money bill rent price list recipe menu"""

PLACES_COMMON = """the kitchen|the garden|the park|the beach|the station|the airport|the office|the library
the market|the cafe|the shop|the bakery|the hospital|the school|the gym|the cinema|the museum|the zoo
the river|the lake|the hotel|the bank|the post office|the supermarket|the restaurant|the bus stop|home
work|the city|the village|the mountains|the countryside|the concert|the party|the meeting|the stadium
the church|the square|the harbour|the bridge|the corner|the car park|the playground|the farm"""

TIMES = """yesterday|today|tomorrow|last night|this morning|this afternoon|this evening|tonight|last week
last month|last year|last summer|last winter|last spring|last autumn|next week|next month|next year
on Monday|on Tuesday|on Wednesday|on Thursday|on Friday|on Saturday|on Sunday|at the weekend|every day
every morning|every week|in the morning|in the evening|at night|at noon|at midnight|two days ago
a week ago|a few days ago|an hour ago|in January|in February|in March|in April|in May|in June|in July
in August|in September|in October|in November|in December|after lunch|before dinner|after work
before school|at Christmas|on my birthday|over the holidays|in the spring|in the summer"""

ADJ_NEUTRAL = """big small large little old new young long short tall high low heavy light dark bright
red blue green yellow black white brown grey pink orange purple round square thin thick wide narrow
early late quiet loud busy empty full hot cold warm cool wet dry soft hard open closed simple modern
local public private main different same other next last first second third usual whole single
double fresh real free ready normal regular plain round"""

ADVERBS = """quickly slowly quietly carefully suddenly finally already again still just often usually
sometimes always never rarely early late soon together alone outside inside upstairs downstairs
there here nearby"""

# ---------------------------------------------------------------- sentiment

POS_ADJ = """good great excellent wonderful amazing fantastic brilliant superb lovely delightful enjoyable
pleasant beautiful charming fun funny perfect outstanding terrific fabulous marvelous marvellous awesome
nice sweet impressive remarkable splendid stunning gorgeous touching moving inspiring uplifting clever
smart witty tasty delicious yummy cozy cosy comfortable friendly helpful kind warm polite generous
reliable smooth solid memorable magical exciting thrilling gripping engaging entertaining heartwarming
satisfying refreshing relaxing peaceful cheerful happy glad joyful pleased proud elegant graceful
stylish neat tidy clean spotless bright sunny calm gentle honest fair valuable worthwhile affordable
convenient useful efficient powerful flawless lively vivid epic incredible phenomenal exceptional
admirable likeable lovable adorable positive favourable cool cute pretty handsome fine decent superb
top-notch first-class spectacular breathtaking glorious heavenly divine exquisite majestic dazzling
sensational astonishing wondrous pleasing welcoming caring thoughtful attentive patient professional
skilled talented gifted creative original fascinating interesting intelligent wise brave lucky
successful healthy safe spacious roomy quiet fast quick easy simple effortless intuitive sturdy durable
excited thrilled delighted grateful thankful satisfied content relieved hopeful optimistic"""

NEG_ADJ = """bad terrible awful horrible dreadful poor boring dull bland tedious annoying disappointing
disgusting nasty ugly unpleasant mediocre weak lame silly stupid pointless useless worthless rude
unfriendly unhelpful slow broken dirty messy noisy stale soggy greasy overpriced flimsy confusing
clumsy awkward painful sad depressing miserable angry upset frustrating irritating tiresome exhausting
lousy crappy pathetic shoddy sloppy lazy careless dishonest unfair unreliable uncomfortable
inconvenient forgettable predictable shallow overrated unbearable unwatchable unreadable inedible
gross rotten smelly sticky faulty defective damaged tasteless lifeless hopeless dreary gloomy grim
harsh hostile mean cruel toxic negative dismal atrocious abysmal appalling horrendous horrid
disastrous catastrophic unacceptable inadequate incompetent unprofessional arrogant impatient
careless filthy crowded cramped dangerous unsafe sick ill tired bored worried scared afraid lonely
unhappy disappointed frustrated annoyed furious disgusted ashamed embarrassed nervous stressed
anxious terrified heartbroken miserable wrong difficult hard complicated useless cheap fake clumsy
buggy laggy glitchy outdated expensive pricey cold lukewarm undercooked overcooked burnt raw bitter
sour salty chewy tough stiff loud ridiculous absurd insulting offensive"""

POS_VERBS = "love:loved adore:adored enjoy:enjoyed like:liked recommend:recommended admire:admired appreciate:appreciated treasure:treasured cherish:cherished praise:praised"
NEG_VERBS = "hate:hated dislike:disliked despise:despised regret:regretted loathe:loathed detest:detested"

POS_NOUNS = """a masterpiece|a delight|a joy|a treat|a gem|a pleasure|a triumph|a success|a winner|a blast
a dream|a real pleasure|a great success|a hit|a real gem|the best thing ever|a pleasant surprise
a lovely surprise|great fun|good value|a bargain|a great experience|a wonderful experience|a good choice"""
NEG_NOUNS = """a disaster|a mess|a waste of time|a waste of money|a failure|a nightmare|a joke|a letdown
a disappointment|a rip-off|a fiasco|a total disaster|a complete mess|a bad joke|a scam|a bad choice
a terrible experience|a huge mistake|a mistake|rubbish|garbage|junk|a flop|a headache"""

POS_PHRASES = """i would recommend it to anyone|highly recommended|two thumbs up|five stars|ten out of ten
worth every penny|worth the money|worth the wait|i will definitely come back|we will be back
i can't wait to go back|i would do it again|best day ever|made my day|i had a great time|we had a blast
it was money well spent|everything was perfect|no complaints at all|couldn't be happier|a dream come true
it exceeded my expectations|i am so happy with it|love it|loved every minute|what a great idea
thank you so much|it works like a charm|a must see|a must read|a must have|simply the best
it made me smile|it made us laugh|i was blown away|my new favourite|nothing to complain about
it was better than i expected|it was even better than the first one"""
NEG_PHRASES = """i would not recommend it|not recommended|avoid at all costs|one star|zero stars
waste of money|a complete waste of time|never again|i will never go back|we will not be back
i want my money back|i regret buying it|worst day ever|it ruined my day|i had a terrible time
it was money thrown away|everything went wrong|nothing worked|i couldn't be more disappointed
it fell apart after a week|it stopped working|it broke on the first day|it made me sick
don't bother|stay away from it|i was bored to death|i fell asleep halfway through
it was worse than i expected|it was even worse than the first one|what a waste|so much for that
i asked for a refund|i am never buying this again|it gave me a headache|not worth it|not worth the money"""

POS_EVENTS = """got the job|passed the exam|won the lottery|got a promotion|got a raise|found my keys
finished the marathon|got engaged|had a baby|bought a new house|made a new friend|won the game
got a puppy|went on a lovely holiday|finally finished the project|got good grades|got into university
met an old friend|got a nice surprise|had a great birthday|won first prize|got the tickets"""
NEG_EVENTS = """lost my job|failed the exam|lost my wallet|missed the bus|missed the train|broke my phone
got sick|got a parking ticket|lost the game|crashed the car|burned the dinner|got stuck in traffic
got soaked in the rain|lost my keys|had a fight with my friend|got food poisoning|broke my leg
had a flat tyre|was robbed|got fired|missed the flight|forgot my passport|spilled coffee on my laptop"""

INTENSIFIERS = """really very so truly absolutely totally quite extremely incredibly pretty super
genuinely seriously utterly remarkably particularly especially insanely"""

# everyday subjects a review or a note talks about
REVIEW_THINGS = """film movie book novel show series song album concert play meal dinner lunch breakfast
pizza burger coffee tea cake restaurant cafe hotel room service staff trip holiday vacation flight app
phone laptop camera game story ending acting music food place shop store product course class lesson
teacher city museum party wedding performance episode season car bike bed view beach garden park tour
guide driver apartment house neighbourhood school soup salad dessert wine beer gift day weather
morning evening weekend night week job boss food waiter staff hotel room price quality design battery
screen sound plot characters actors cast director soundtrack menu pasta steak fries sushi bread
service delivery experience visit stay holiday team game app update website headphones shoes jacket
chair mattress sofa kettle printer keyboard mouse charger speaker tv"""

# ---------------------------------------------------------------- topics: who acts, what they do, what about

SPORTS_SUBJ = """the team|the coach|the players|the striker|the goalkeeper|the captain|the champion|the
athletes|the runner|the swimmer|the boxer|the referee|the fans|the club|the home team|the away side
the defender|the midfielder|the tennis player|the golfer|the cyclist|the skier|the sprinter|our team
the national team|the manager of the club|the young forward|the quarterback|the pitcher|the rugby team
the cricket team|the basketball team|the hockey team|the football club|the winners|the squad"""
SPORTS_VP = """won the match|lost the match|won the game|lost the game|scored a goal|scored two goals
scored in the last minute|won the championship|won the cup|won the final|lost the final|reached the final
won a gold medal|won the silver medal|took the bronze|broke the world record|won the race|finished the race
missed a penalty|saved a penalty|beat their rivals|drew with the leaders|signed a new striker
signed a new contract|was sent off|got a red card|got injured in training|trained hard all week
played in the stadium|won the tournament|qualified for the playoffs|won the league|hit a home run
scored a touchdown|won the set|served an ace|won the title|defended the title|topped the table
was relegated|was promoted to the first division|won the derby|lost on penalties|scored a hat trick
ran a marathon|won the grand slam|made the team|won the olympics|kicked off the season"""
SPORTS_NOUNS = """match game goal goals score season league championship tournament final semifinal cup
trophy medal olympics stadium referee football soccer basketball baseball tennis golf hockey rugby
cricket cycling marathon race sprint swimming boxing striker goalkeeper penalty halftime overtime
playoffs champion title record transfer club squad coach training injury captain kickoff wicket lap
podium derby fixture pitch court team players athletes fans victory defeat win draw world cup
touchdown home run inning ski slope world record gold medal"""

POLITICS_SUBJ = """the government|the president|the prime minister|the minister|parliament|the senate
congress|the lawmakers|the opposition|the mayor|the governor|the party|the voters|the candidate|the
senator|the council|the court|the supreme court|the judge|the cabinet|the ministers|the diplomats
the embassy|the protesters|the leaders|the ruling party|the coalition|the election commission
the foreign minister|the labour party|the conservatives|the liberals|the democrats|the republicans
the new administration|the state government|the city council|the police chief|the activists"""
POLITICS_VP = """won the election|lost the election|passed a new law|passed the bill|voted against the bill
voted for the reform|called an early election|announced new sanctions|signed the treaty|vetoed the bill
resigned after the scandal|formed a coalition|held a referendum|gave a speech in parliament
launched the campaign|debated the new policy|promised lower taxes|raised taxes|cut the budget for defence
met foreign leaders at the summit|protested outside parliament|demanded new elections|approved the budget
rejected the proposal|changed the constitution|appointed a new minister|faced an impeachment vote
won a majority|lost its majority|criticised the government|called for reform|counted the votes
opened the embassy|closed the border|discussed immigration|banned the protest|sued the state
elected a new leader|went to the polls|cast their ballots|introduced new legislation"""
POLITICS_NOUNS = """government election elections vote votes voters voting minister president parliament
senate senator congress lawmakers law laws bill policy party campaign candidate debate democracy
opposition coalition cabinet governor mayor council referendum ballot constitution court judge
justice rights reform diplomat embassy treaty sanctions summit negotiations protest legislation veto
majority poll polls administration officials ministry immigration border citizens state regime
alliance election campaign impeachment scandal corruption lobby politics politicians taxes tax
policy speech ballot box polling station"""

BUSINESS_SUBJ = """the company|the bank|the firm|the startup|investors|shareholders|the board|the chief
executive|the ceo|the retailer|the carmaker|the airline|the oil company|the factory|the market|the
stock market|the central bank|the economy|analysts|the brand|the supermarket chain|the tech giant
the manufacturer|the banks|traders|the owners of the company|the sales team|the business|the shop owners
the insurance company|the energy company|the group|consumers|customers|the employees|the workers"""
BUSINESS_VP = """reported higher profits|reported a loss|raised prices|cut prices|cut jobs|hired new staff
bought a rival|sold the business|went bankrupt|raised interest rates|cut interest rates|launched a new product
opened new stores|closed ten stores|signed a big deal|lost customers|increased sales|saw sales fall
saw shares rise|saw shares drop|paid a dividend|borrowed money from the bank|paid off its debt
invested millions in the factory|went public|announced a merger|beat expectations|missed its targets
expanded into new markets|moved its headquarters|cut costs|raised wages|froze hiring|announced layoffs
traded lower|traded higher|grew by ten percent|shrank last quarter|set a new budget|paid the bills
exported more goods|imported less oil|sold more cars|struck a trade deal|lowered its forecast"""
BUSINESS_NOUNS = """company companies market markets shares stock stocks investors investment profit profits
revenue sales earnings quarter growth economy bank banks interest rates inflation prices price trade
tariffs exports imports startup merger acquisition deal ceo executive board shareholders dividend bonds
loan loans debt budget costs retail retailer customers consumers brand factory jobs unemployment
wages salary industry firm billion million dollars euros funding capital layoffs supply chain
manufacturing oil energy contract forecast analysts stock market recession currency business
businesses money profit margin tax cuts sales figures quarterly results bankruptcy investors"""

SCIENCE_SUBJ = """scientists|the scientist|researchers|the researchers|the team of scientists|astronomers
doctors|the lab|the study|a new study|the experiment|biologists|physicists|chemists|engineers
the university lab|the space agency|the rocket|the telescope|the robot|the probe|the spacecraft
the mission|a group of researchers|geologists|the professor|the mathematician|the doctors at the clinic
the climate scientists|the medical team|the survey|the satellite|the computer model|the study's authors"""
SCIENCE_VP = """discovered a new planet|found a new species|published the results|tested a new vaccine
sequenced the genome|launched a rocket|landed on the moon|studied the brain|observed a distant galaxy
measured the temperature of the ocean|found water on mars|built a new robot|developed a new drug
ran an experiment|proved the theory|found a cure|mapped the stars|analysed the data|found fossils
cloned the cells|studied climate change|split the atom|discovered a black hole|tracked the comet
predicted the earthquake|found bacteria in the ice|tested the hypothesis|measured the particles
designed a new algorithm|trained the neural network|studied the virus|examined the samples
launched a satellite|explored the deep sea|discovered a new element|studied the dinosaurs
observed the solar eclipse|detected gravitational waves|recorded the brain signals"""
SCIENCE_NOUNS = """scientists scientist research researchers study experiment experiments laboratory lab
discovery planet planets space rocket telescope astronomers galaxy star stars universe physics
chemistry biology cells cell dna gene genes protein molecules atoms particle particles quantum
climate species evolution fossil fossils dinosaur dinosaurs vaccine virus bacteria medicine disease
cure brain theory data analysis microscope satellite orbit mars moon solar carbon emissions ocean
ecosystem mathematics equation algorithm robot robots artificial intelligence engineering hypothesis
journal findings spacecraft asteroid comet volcano earthquake geology science black hole genome
climate change neurons chemicals element telescope experiment results"""

# a neutral report verb for topic frames ("my dad talked about the election")
TALK = """talked about|read about|heard about|wrote about|argued about|asked about|learned about|worried about
read an article about|watched a show about|saw the news about|had a long chat about|posted about"""

JOBS = """a teacher|a nurse|a doctor|a lawyer|an engineer|a cook|a chef|a pilot|a farmer|a writer|an artist
a driver|a baker|a dentist|a plumber|a student|a scientist|a journalist|a photographer|a musician
an accountant|a designer|a waiter|a cleaner|a librarian|a vet|a firefighter|a police officer|a banker"""

# ---------------------------------------------------------------- more everyday words (merged into the lists above by data.py)

MORE_THINGS = """sock socks boots sandals gloves belt tie suit skirt jeans trousers sweater hoodie pyjamas
towel blanket pillow sheet curtain carpet rug mirror shelf drawer cupboard fridge freezer oven stove
microwave kettle toaster dishwasher sink tap shower bath toilet soap shampoo toothbrush toothpaste
brush comb razor candle vase basket bucket ladder hammer nail screw drill rope tape glue scissors
needle thread button zipper pocket purse backpack suitcase luggage passport ticket receipt coin
coins note notes envelope stamp parcel package calendar diary notebook folder printer battery charger
cable plug socket light bulb fan heater radiator roof wall floor ceiling stairs garage shed fence gate
lawn hedge pond path sidewalk pavement corner crossing traffic lights bus stop taxi truck van lorry
motorbike scooter boat ship ferry tram subway underground platform tunnel highway motorway roundabout
bread butter jam honey sugar salt pepper flour oil vinegar sauce ketchup mustard mayonnaise yogurt
cream ice cream cereal porridge toast pancakes waffles bacon sausage ham chicken beef pork lamb fish
tuna salmon shrimp noodles dumplings curry stew burger hot dog taco burrito sushi steak chips fries
crisps popcorn nuts peanuts almonds grapes bananas oranges lemons pears peaches plums cherries
strawberries berries melon watermelon pineapple mango avocado onion onions garlic pepper cucumber
lettuce cabbage broccoli spinach beans peas corn mushrooms pumpkin lemonade soda smoothie cocktail
birthday holiday weekend party picnic barbecue wedding funeral concert festival fair market parade
game match race show exhibition lecture seminar interview appointment meeting deadline shift break
vacation journey trip flight voyage tour walk hike ride drive swim run jog nap shower breakfast
homework chores laundry dishes groceries shopping cleaning cooking gardening knitting reading drawing
painting photography fishing camping hiking cycling swimming skiing dancing singing jogging yoga
puzzle crossword board game cards chess video game cartoon comic podcast playlist channel website
password account email inbox text message phone call video call photo selfie screenshot file folder
weather rain snow wind storm sunshine fog cloud clouds rainbow thunder lightning heat frost ice
morning afternoon evening night midnight dawn sunset sunrise moment minute hour second week month
year decade century season spring summer autumn fall winter weekday"""

MORE_VERBS = """
bake baked|boil boiled|fry fried|grill grilled|peel peeled|chop chopped|mix mixed|pour poured|stir stirred
taste tasted|smell smelled|touch touched|lift lifted|climb climbed|jump jumped|cross crossed|enter entered
explore explored|search searched|collect collected|deliver delivered|download downloaded|upload uploaded
install installed|charge charged|repair repaired|replace replaced|lock locked|unlock unlocked|fold folded
hang hung|iron ironed|sew sewed|knit knitted|water watered|plant planted|grow grew|feed fed|walk walked
park parked|ride rode|drive drove|book booked|cancel cancelled|reserve reserved|organise organised
celebrate celebrated|decorate decorated|wrap wrapped|invite invited|welcome welcomed|thank thanked
greet greeted|hug hugged|kiss kissed|marry married|text texted|email emailed|phone phoned|message messaged
post posted|record recorded|film filmed|photograph photographed|describe described|explain explained
discuss discussed|mention mentioned|suggest suggested|offer offered|accept accepted|refuse refused
allow allowed|prefer preferred|expect expected|notice noticed|recognise recognised|understand understood
believe believed|imagine imagined|guess guessed|solve solved|measure measured|weigh weighed|compare compared
"""

MORE_ADJ = """ancient modern recent current future past final daily weekly monthly annual entire general
special common rare strange odd familiar foreign local national international central northern southern
eastern western upper lower inner outer front back left right middle major minor basic extra spare
main total average complete partial similar various several certain particular obvious clear
plastic wooden metal glass paper cotton woollen leather silver golden digital electric manual
automatic online offline indoor outdoor rural urban tiny huge enormous massive giant miniature
shiny rough smooth sharp blunt flat steep deep shallow curly straight striped spotted"""

MORE_POS = """gorgeous superb terrific wonderful pleasant joyous blissful blessed fortunate thankful
spotless immaculate pristine crisp juicy tender flavourful mouthwatering scrumptious succulent
hilarious amusing entertaining charming witty brilliant genius masterful flawless seamless
reliable trustworthy dependable sturdy solid robust speedy snappy responsive friendly courteous
welcoming accommodating respectful supportive encouraging uplifting soothing calming restful
stunning picturesque scenic luxurious lavish classy chic trendy fashionable comfy snug fantastic"""

MORE_NEG = """dreadful abysmal woeful pitiful shameful disgraceful outrageous infuriating maddening
aggravating unbearable intolerable insufferable obnoxious unpleasant distasteful revolting repulsive
nauseating vile foul mouldy moldy spoiled sour rancid bland flavourless watery dry bitter burnt
lumpy greasy oily slimy dusty grimy stained shabby rundown dilapidated broken cracked leaky wobbly
unstable sluggish unresponsive glitchy clunky confusing misleading deceptive rude dismissive
condescending unhelpful neglectful incompetent clueless chaotic disorganised cramped stuffy freezing
humid gloomy depressing bleak boring monotonous repetitive pointless mediocre underwhelming"""

MORE_POS_PHRASES = """it rocks|this rocks|so good|so much fun|really good stuff|top quality|great value for money
the best i have ever had|super helpful staff|i am very happy|very happy with it|pleasantly surprised
it was lovely|we loved it|my kids loved it|highly recommend|would buy again|would come again
great job|well done|nice work|good job|thumbs up|absolutely loved it|it was a joy|a real pleasure
better than ever|one of the best|i am in love with it|can't stop listening to it|can't put it down"""

MORE_NEG_PHRASES = """it sucks|this sucks|so bad|no fun at all|really bad stuff|poor quality|bad value for money
the worst i have ever had|the staff were rude|i am very unhappy|very unhappy with it|badly disappointed
it was awful|we hated it|my kids hated it|do not recommend|would not buy again|would not come again
what a mess|such a shame|thumbs down|absolutely hated it|it was a pain|a total nightmare
worse than ever|one of the worst|i am sick of it|i couldn't finish it|i gave up after ten minutes"""

MORE_SPORTS = """team won the match|striker scored|goalkeeper saved|fans cheered|the referee blew the whistle
olympic games|world cup final|grand prix|formula one|tour de france|super bowl|champions league
transfer window|season opener|penalty shootout|extra time|injury time|home game|away game|league table
batting average|free kick|corner kick|slam dunk|three pointer|knockout|match point|personal best"""

MORE_POLITICS = """general election|prime minister|foreign policy|trade war|peace talks|human rights
climate summit|opposition leader|voter turnout|exit poll|local elections|state visit|white house
public spending|tax reform|health care reform|minimum wage law|immigration law|press conference
party conference|cabinet meeting|no confidence vote|coalition talks|election campaign|polling day"""

MORE_BUSINESS = """stock price|share price|interest rate|central bank|annual report|profit warning
sales growth|market share|trade deficit|gross domestic product|small business|job cuts|hiring freeze
price increase|price war|supply shortage|oil price|gas price|housing market|real estate|start-up
business plan|board meeting|shareholder meeting|quarterly earnings|balance sheet|cash flow"""

MORE_SCIENCE = """space station|solar system|black hole|climate change|global warming|clinical trial
new vaccine|gene therapy|stem cells|dark matter|big bang|milky way|mars rover|moon landing|lab results
research paper|peer review|scientific method|fossil record|carbon dioxide|renewable energy|nuclear fusion
particle accelerator|electron microscope|machine learning|neural network|periodic table"""
