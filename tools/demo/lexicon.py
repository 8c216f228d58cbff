"""Names for the demo store's generated data (data.py): first and last names, cities, countries and regions,
organisations. data.py splits each of the first lists 80/20 by a fixed hash of the name into a training and a
held-out part, so held-out sentences name people, places and organisations the training never saw. The
MORE_* lists and the pieces of made-up names further down are for training only.
"""

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

DAYS = "Monday Tuesday Wednesday Thursday Friday Saturday Sunday"
MONTHS = "January February March April May June July August September October November December"

# Pieces of made-up names, for training only (data.py): real names are often several words, some of them
# everyday words ("Bank of ...", "... Health Council") or lower-case particles ("Rio de ...", "... van Dijk"),
# and the lexicon above has few such names for the tagger and the reader to learn them from.
NAME_PARTICLES = ["de", "da", "del", "van", "von", "van der", "di", "du", "la", "bin", "al"]
PLACE_PATTERNS = ["San {A}", "Santa {A}", "Port {A}", "Lake {A}", "Mount {A}", "Saint {A}", "Fort {A}", "{A} City", "{A} Bay",
                  "{A} Island", "{A} Islands", "{A} Beach", "{A} Springs", "North {A}", "South {A}", "East {A}", "West {A}", "New {A}",
                  "Las {A}", "Los {A}", "El {A}", "{A} de {B}", "{A} do {B}", "{A} del {B}", "{A} and {B}", "{A} on {B}", "Upper {A}"]
ORG_PATTERNS = ["{K} of {P}", "University of {P}", "Bank of {P}", "{H} {F} {E}", "{F} {E}", "{H} {E} of {P}", "{A} and {B}",
                "{A} {A2}", "{P} {F} {E}", "{A} {F} Company", "{H} {F}", "{A} {F}"]
ORG_KINDS = ["Bank", "University", "Museum", "Church", "College", "Council", "Ministry", "Port", "Institute", "Academy", "School",
             "Theatre", "Hospital", "Chamber", "Library", "Zoo", "Court", "Orchestra"]
ORG_HEADS = ["National", "Global", "International", "Royal", "United", "General", "Central", "First", "Northern", "Southern",
             "Green", "Golden", "Blue", "Grand", "Modern", "Open", "Free", "Western", "Eastern", "World", "European", "Pacific"]
ORG_FIELDS = ["Health", "Science", "Energy", "Water", "Trade", "Music", "Art", "Film", "Food", "Power", "Steel", "Oil", "Rail",
              "Space", "Sports", "Book", "Data", "Travel", "Money", "Farm", "Coffee", "Paper", "Glass", "Garden", "Motor", "Sugar"]
ORG_ENDINGS = ["Organization", "Association", "Council", "Agency", "Society", "Union", "Fund", "Trust", "Alliance", "Committee",
               "Federation", "Company", "Network", "Service", "Club", "Institute", "Foundation", "Group", "Partners", "Works"]

# More names, for training only (data.py adds them to the training part; one that is also in a list above,
# held out or not, is dropped). A tagger that met a hundred first names learns those; one that met many
# learns what a name looks like, which is what a held-out name needs.
MORE_FIRST_NAMES = """Aaron Abigail Adrian Agnes Aiden Aisha Alan Albert Alberto Alejandro Alessandro Alexis Alfie Alfred Alice
Alicia Alina Alison Amelia Amir Amy Ana Anders Andrea Andrei Angela Anika Anita Anna Annie Anton Antonio Arjun Arthur Astrid
Ava Barry Beatrice Ben Benedict Bernard Bianca Bilal Bjorn Boris Bruno Caleb Camila Carla Carlos Carmen Caroline Cecilia
Celine Chantal Chiara Chloe Claire Clara Colin Connor Craig Cristina Dalia Damian Daniela Dario Dean Deepak Denise Diego
Dimitri Dmitri Dominic Dora Duncan Edgar Edith Eduardo Elena Eli Elias Elif Eliza Ella Ellie Elsa Emeka Emma Enzo Erik
Erin Esther Ethan Eva Evelyn Fabian Fatima Felix Fernando Fiona Florian Francesca Franco Frank Frida Gabriel Gareth Gavin
Gemma Georgia Gerald Gina Giovanni Gloria Gordon Graham Gustav Hannah Harriet Harvey Hassan Hector Heidi Helga Henrik Hiroshi
Hugo Ian Ibrahim Ida Igor Ines Ingrid Irene Isaac Isabel Ivan Jacob Jade Jamal Jan Jana Jasmine Javier Jens Jonas Jorge
Jose Josephine Julia Julian Kai Kamal Karim Karl Kasia Katja Keith Kenji Kevin Khalid Kiara Kofi Lara Laszlo Laura Leah
Leila Lena Leo Leon Leonie Lily Lina Lorenzo Louis Lucia Luis Lukas Magnus Mai Malik Manuel Marco Marek Margot Maria Marina
Mario Marta Martin Mateo Matilda Max Maya Mehmet Mia Miguel Mika Milan Milo Mina Miriam Mohamed Monica Nadia Naomi Natasha
Neil Nikolai Nina Nora Olga Oliver Olivia Oscar Otto Pablo Paolo Patrick Paula Pavel Pedro Petra Philip Priya Rafael Rahul
Ravi Rebecca Rita Roberto Rohan Roman Rosa Ruben Rui Ryan Sabine Salma Samir Sandra Sara Sasha Sean Sebastian Selma Sergio
Simon Sina Sofie Sonia Stefan Stella Susan Tanya Teresa Theo Tobias Tomasz Ulla Valentina Vera Victor Viktor Vincent Wanda
Wei Xavier Yara Yasmin Yusuf Yuki Zara Zeynep Zoe Zoran"""

MORE_LAST_NAMES = """Abbott Ahmed Alvarez Andrade Arnold Bailey Barnes Becker Bell Bennett Bianchi Bishop Black Blake Boyd
Brennan Burke Bush Byrne Campbell Carter Chen Clarke Coleman Collins Conti Cooper Cruz Dalton Das Dawson Dean Dixon Doyle
Dubois Duncan Dunn Edwards Ellis Erikson Esposito Evans Farrell Fernandes Fischer Fitzgerald Fleming Fox Francis Fraser
Friedman Gallagher Gibson Gomez Gordon Graham Grant Gray Greene Gupta Hale Hall Hamilton Hansen Harper Hart Hayes Hoffmann
Holland Hughes Hunt Ibrahim Ivanov Jackson Jain Jenkins Kaur Keller Kelly Kennedy Kowalski Kramer Lambert Lane Lang Lawson
Leblanc Lehmann Lindqvist Lloyd Lopez Lund Lynch Maddox Marino Marshall Mason Medina Meyer Mills Moreau Moretti Morris
Murray Nakamura Novak Nowak Obi Olsen Ortiz Owens Palmer Park Patel Payne Perry Petrov Popescu Porter Powell Quinn Ramos
Reid Reyes Ricci Richter Rios Roberts Romano Rossi Russo Ryan Saito Sato Schneider Schultz Sharma Shaw Simmons Sokolov
Stewart Sullivan Suzuki Tanaka Taylor Torres Tran Turner Vargas Vasquez Volkov Wagner Walsh Watanabe Weber Wells Wolf Wong
Wright Yamamoto Yilmaz Zhang Ziegler"""

MORE_CITIES = """Leeds Sheffield Newcastle Belfast Cardiff Aberdeen Nantes Toulouse Bordeaux Lille Nice Strasbourg Cologne Stuttgart
Dresden Leipzig Bremen Hanover Turin Genoa Bologna Palermo Verona Bilbao Malaga Granada Zaragoza Rotterdam Utrecht Antwerp
Ghent Bruges Bern Basel Lausanne Salzburg Graz Innsbruck Gdansk Wroclaw Poznan Brno Bratislava Ljubljana Zagreb Belgrade
Sofia Bucharest Riga Tallinn Vilnius Minsk Odessa Kharkiv Ankara Izmir Beirut Amman Doha Riyadh Muscat Kabul Lahore Chennai
Kolkata Bangalore Hyderabad Colombo Kathmandu Yangon Taipei Kyoto Nagoya Busan Perth Brisbane Adelaide Wellington Calgary
Ottawa Quebec Winnipeg Portland Austin Nashville Memphis Baltimore Pittsburgh Cleveland Minneapolis Orlando Tampa Caracas
Quito Montevideo Asuncion Recife Salvador Medellin Cali Accra Dakar Kampala Kigali Luanda Harare Lusaka Tunis Algiers
Casablanca Marrakesh Alexandria Khartoum"""

MORE_COUNTRIES = """Austria Bolivia Bulgaria Cambodia Cameroon Croatia Cyprus Ecuador Estonia Georgia Guatemala Honduras Jamaica Kazakhstan
Latvia Lithuania Luxembourg Madagascar Malaysia Mali Malta Mongolia Montenegro Mozambique Nepal Nicaragua Oman Panama
Paraguay Philippines Portugal Qatar Romania Rwanda Senegal Serbia Singapore Slovakia Slovenia Somalia Sudan Tanzania Tunisia
Uganda Uruguay Venezuela Yemen Zambia Zimbabwe Normandy Provence Catalonia Andalusia Ontario Quebec Oregon Nevada Arizona
Alaska Hawaii Kentucky Ohio Georgia Yorkshire Cornwall Patagonia Anatolia Bengal Punjab Kashmir Tibet Manchuria"""

MORE_ORGS = """Adobe Nvidia Dell Cisco Lenovo Xiaomi Canon Nikon Fujitsu Hitachi Mazda Subaru Hyundai Kia Renault Peugeot
Fiat Ferrari Porsche Volvo Scania Heineken Carlsberg Danone Kellogg Mattel Hasbro Puma Reebok Gucci Prada Chanel Rolex
Omega Allianz Barclays Santander Citibank Paypal Stripe Shopify Zoom Slack Dropbox Pinterest Snapchat Tiktok
Instagram Youtube Wikipedia Mozilla Yahoo Baidu Rakuten Infosys Wipro Tata Reliance Aramco Gazprom Lukoil Petrobras
Vale Glencore Maersk Lufthansa Ryanair Easyjet Emirates Qantas Aeroflot Fedex DHL UPS Pepsi Kraft Lindt
Bayer Novartis Roche Sanofi Moderna Medtronic Siemens Bosch Michelin Bridgestone Unesco UNHCR OECD OPEC
WWF Amnesty Caltech Berkeley Columbia Cornell Duke Sorbonne Bocconi ETH EPFL CERN ESA Interpol Europol Fifa Uefa"""

MORE_MULTI_ORGS = ["Bank of America", "Bank of Japan", "Royal Navy", "Red Crescent", "Save the Children", "Doctors Without Borders",
                   "World Trade Organization", "International Monetary Fund", "Credit Suisse", "Wells Fargo", "Bank of Canada",
                   "Ford Foundation", "Rolls Royce", "Aston Martin", "Land Rover", "British Airways", "Air France", "Deutsche Post",
                   "Dutch Railways", "General Electric", "Johnson Controls", "Kaiser Permanente", "Morgan Chase", "Tata Motors",
                   "National Gallery", "Natural History Museum", "Royal Opera House", "London School of Economics",
                   "University of Tokyo", "Imperial College", "King's College", "Trinity College", "Boston Globe", "Financial Times",
                   "Wall Street Journal", "Sky News", "Al Jazeera", "Le Monde", "Inter Milan", "Paris Saint Germain", "Ajax Amsterdam",
                   "Boca Juniors", "Los Angeles Lakers", "Chicago Bulls", "Toronto Raptors"]

MORE_MULTI_CITIES = ["Santa Monica", "San Antonio", "San Jose", "Saint Petersburg", "Port Louis", "Port Elizabeth", "Hong Kong",
                     "Salt Lake City", "Kansas City", "Panama City", "Ho Chi Minh City", "Sao Tome", "Porto Alegre", "Belo Horizonte",
                     "Santo Domingo", "La Paz", "Le Havre", "Den Haag", "Frankfurt am Main", "Stratford upon Avon"]

MORE_MULTI_REGIONS = ["Puerto Rico", "Sierra Leone", "Ivory Coast", "Burkina Faso", "El Salvador", "Dominican Republic",
                      "Trinidad and Tobago", "Bosnia and Herzegovina", "Antigua and Barbuda", "Papua New Guinea", "Isle of Man",
                      "Cape Verde", "Costa Brava", "Lake Como", "Mount Everest", "Rocky Mountains", "Middle East", "West Africa", "East Asia"]
