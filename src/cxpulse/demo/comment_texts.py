"""Comment templates for the demo shop, written per language as customers write them.

A data module, longer than 400 lines on purpose: fifty-one sentences in each of four
languages, kept side by side so that a translator sees every language's full set (the code
that draws from them is ``cxpulse.demo.comment_writing``).

``COMMENTS[language][topic][polarity]`` holds sentences that stand on their own, so that two
of them can be joined into a mixed comment ("Fast delivery. The app crashes when I pay.").
``{days}`` is replaced by a number of days (always 2 or more, so plurals hold in every
language) and ``{agent}`` by the first name of a support agent, in the script of the language.
"""

from __future__ import annotations

from typing import Final, Literal

Polarity = Literal["positive", "negative"]
LANGUAGES: Final = ("en", "sv", "nl", "mk")
TOPICS: Final = ("delivery", "support", "returns", "price", "app", "general")

DAYS: Final[dict[tuple[str, Polarity], tuple[int, int]]] = {
    ("delivery", "positive"): (2, 3),
    ("delivery", "negative"): (6, 14),
    ("support", "negative"): (3, 8),
    ("returns", "positive"): (2, 5),
    ("returns", "negative"): (10, 30),
}
"""Range of ``{days}`` per topic and polarity: quick when happy, long when not."""

AGENT_NAMES: Final[dict[str, str]] = {
    "Anna": "Ана",
    "Erik": "Ерик",
    "Sanne": "Сане",
    "Daan": "Дан",
    "Elena": "Елена",
    "Marko": "Марко",
    "James": "Џејмс",
    "Sofia": "Софија",
    "Lucas": "Лукас",
    "Ivana": "Ивана",
    "Emma": "Ема",
    "Oskar": "Оскар",
}
"""Support agents of the demo shop, with their names as a Macedonian customer writes them."""

NEW_PORTAL_TEMPLATE: Final[tuple[str, Polarity, int]] = ("returns", "positive", 2)
"""(topic, polarity, index) of the sentence praising the new returns portal, in every
language: the demo lets customers write it only once the portal has launched."""

Templates = dict[str, dict[Polarity, tuple[str, ...]]]

ENGLISH: Final[Templates] = {
    "delivery": {
        "positive": (
            "Delivery was super fast, the parcel arrived in {days} days.",
            "The package came a day earlier than promised and was well packed.",
            "Tracking worked perfectly, I always knew where my order was.",
            "Friendly courier who left the parcel exactly where I asked.",
            "Fast shipping as always, that's why I keep ordering here.",
        ),
        "negative": (
            "My order took {days} days to arrive, far longer than promised.",
            "The parcel arrived damaged and the box was soaking wet.",
            "Tracking said delivered but there was nothing at my door.",
            "Delivery was postponed twice and nobody told me why.",
            "Part of the order was missing when the package came.",
        ),
    },
    "support": {
        "positive": (
            "{agent} solved my problem in a few minutes, great service!",
            "Friendly and patient support, {agent} really listened.",
            "Got an answer within the hour, very impressed.",
            "The chat agent knew exactly what to do. Thank you {agent}!",
            "Support followed up on their own to check that everything was fine.",
        ),
        "negative": (
            "I had to explain my problem three times to three different people.",
            "Waited {days} days for a reply to my email.",
            "The answer was copy-paste and did not help at all.",
            "{agent} was polite but could not solve anything.",
            "Nobody called me back even though it was promised.",
        ),
    },
    "returns": {
        "positive": (
            "Returning was easy: printed the label, dropped off the parcel, done.",
            "The refund was in my account {days} days after I sent the item back.",
            "The new returns portal is so much simpler than before.",
            "Free returns make it easy to order two sizes and keep one.",
            "Exchanging for another size went smoothly.",
        ),
        "negative": (
            "Still waiting for my refund, {days} days after you received the return.",
            "The return label didn't work and I had to contact support.",
            "Why do I have to pay for the return shipping?",
            "The returns form is confusing and kept giving me errors.",
            "The drop-off point for returns is far away from where I live.",
        ),
    },
    "price": {
        "positive": (
            "Good prices and the discount code worked straight away.",
            "Good value for money, cheaper than other shops.",
            "Free shipping above a certain amount is a nice touch.",
            "The Black Friday deals were really good this year.",
        ),
        "negative": (
            "Prices have gone up a lot lately.",
            "Shipping costs are too high for small orders.",
            "Found the same product much cheaper elsewhere.",
            "The discount code was not accepted at checkout.",
        ),
    },
    "app": {
        "positive": (
            "The app is fast and easy to use.",
            "Love the new app, paying with one tap is great.",
            "The order notifications in the app are really handy.",
            "Easy to find what I need in the app.",
        ),
        "negative": (
            "The app crashes every time I try to pay.",
            "Can't log in to the app since the last update.",
            "The app is slow and the search results are useless.",
            "The app keeps logging me out, very annoying.",
        ),
    },
    "general": {
        "positive": (
            "Great shop, I'll definitely order again!",
            "Everything went smoothly, thanks!",
            "Thanks!",
        ),
        "negative": (
            "Very disappointed this time.",
            "Not the experience I expect from you.",
        ),
    },
}

SWEDISH: Final[Templates] = {
    "delivery": {
        "positive": (
            "Supersnabb leverans, paketet kom på {days} dagar.",
            "Paketet kom en dag tidigare än utlovat och var väl förpackat.",
            "Spårningen fungerade perfekt, jag visste hela tiden var paketet var.",
            "Trevligt bud som lämnade paketet precis där jag ville.",
            "Snabb frakt som vanligt, därför handlar jag här igen och igen.",
        ),
        "negative": (
            "Det tog {days} dagar innan beställningen kom, mycket längre än utlovat.",
            "Paketet kom skadat och kartongen var genomblöt.",
            "Enligt spårningen var paketet levererat, men det fanns inget vid dörren.",
            "Leveransen sköts upp två gånger utan någon förklaring.",
            "En del av beställningen saknades när paketet kom.",
        ),
    },
    "support": {
        "positive": (
            "{agent} löste mitt problem på några minuter, toppenservice!",
            "Vänlig och tålmodig kundtjänst, {agent} lyssnade verkligen.",
            "Fick svar inom en timme, mycket imponerad.",
            "Chattsupporten visste direkt vad som behövde göras. Tack {agent}!",
            "Kundtjänst hörde av sig självmant för att se att allt var bra.",
        ),
        "negative": (
            "Jag fick förklara mitt problem tre gånger för tre olika personer.",
            "Väntade {days} dagar på svar på mitt mejl.",
            "Svaret var en standardtext som inte hjälpte alls.",
            "{agent} var trevlig men kunde inte lösa någonting.",
            "Ingen ringde tillbaka fast det var utlovat.",
        ),
    },
    "returns": {
        "positive": (
            "Enkelt att returnera: skrev ut etiketten, lämnade paketet, klart.",
            "Pengarna var tillbaka på kontot {days} dagar efter att jag skickat tillbaka varan.",
            "Den nya returportalen är mycket enklare än förut.",
            "Fri retur gör att jag vågar beställa två storlekar.",
            "Bytet till en annan storlek gick smidigt.",
        ),
        "negative": (
            "Väntar fortfarande på återbetalningen, {days} dagar efter att returen kom fram.",
            "Returetiketten fungerade inte och jag fick kontakta kundtjänst.",
            "Varför måste jag betala frakten för returen?",
            "Returformuläret är krångligt och gav mig bara felmeddelanden.",
            "Närmaste ombud för returer ligger alldeles för långt bort.",
        ),
    },
    "price": {
        "positive": (
            "Bra priser och rabattkoden fungerade direkt.",
            "Prisvärt, billigare än i andra butiker.",
            "Fri frakt över en viss summa är ett trevligt plus.",
            "Riktigt bra erbjudanden på Black Friday i år.",
        ),
        "negative": (
            "Priserna har gått upp mycket på sistone.",
            "Frakten är för dyr för små beställningar.",
            "Hittade samma produkt mycket billigare någon annanstans.",
            "Rabattkoden gick inte att använda i kassan.",
        ),
    },
    "app": {
        "positive": (
            "Appen är snabb och lätt att använda.",
            "Älskar nya appen, att betala med ett tryck är smidigt.",
            "Aviseringarna om beställningen i appen är väldigt praktiska.",
            "Lätt att hitta det jag letar efter i appen.",
        ),
        "negative": (
            "Appen kraschar varje gång jag försöker betala.",
            "Kan inte logga in i appen sedan senaste uppdateringen.",
            "Appen är seg och sökresultaten är värdelösa.",
            "Appen loggar ut mig hela tiden, väldigt irriterande.",
        ),
    },
    "general": {
        "positive": (
            "Bra butik, jag beställer gärna igen!",
            "Allt gick smidigt, tack!",
            "Tack!",
        ),
        "negative": (
            "Mycket besviken den här gången.",
            "Inte den upplevelse jag förväntar mig av er.",
        ),
    },
}

DUTCH: Final[Templates] = {
    "delivery": {
        "positive": (
            "Supersnelle levering, het pakket was er binnen {days} dagen.",
            "Het pakket kwam een dag eerder dan beloofd en was goed ingepakt.",
            "De track & trace werkte perfect, ik wist steeds waar mijn bestelling was.",
            "Vriendelijke bezorger die het pakket precies op de afgesproken plek neerzette.",
            "Zoals altijd snel verzonden, daarom bestel ik hier steeds weer.",
        ),
        "negative": (
            "Het duurde {days} dagen voordat mijn bestelling er was, veel langer dan beloofd.",
            "Het pakket kwam beschadigd aan en de doos was kletsnat.",
            "Volgens de track & trace was het bezorgd, maar er lag niets voor de deur.",
            "De levering werd twee keer uitgesteld zonder enige uitleg.",
            "Een deel van de bestelling ontbrak toen het pakket kwam.",
        ),
    },
    "support": {
        "positive": (
            "{agent} had mijn probleem binnen een paar minuten opgelost, top service!",
            "Vriendelijke en geduldige klantenservice, {agent} luisterde echt.",
            "Binnen een uur antwoord gekregen, erg onder de indruk.",
            "De chatmedewerker wist meteen wat er moest gebeuren. Dank je, {agent}!",
            "De klantenservice nam zelf contact op om te vragen of alles goed was.",
        ),
        "negative": (
            "Ik moest mijn probleem drie keer uitleggen aan drie verschillende mensen.",
            "{days} dagen gewacht op een antwoord op mijn e-mail.",
            "Het antwoord was een standaardtekst waar ik niets aan had.",
            "{agent} was beleefd, maar kon niets oplossen.",
            "Er werd niet teruggebeld, terwijl dat wel was beloofd.",
        ),
    },
    "returns": {
        "positive": (
            "Retourneren was makkelijk: label printen, pakket wegbrengen, klaar.",
            "Het geld stond {days} dagen na het terugsturen weer op mijn rekening.",
            "Het nieuwe retourportaal is veel eenvoudiger dan vroeger.",
            "Door gratis retourneren durf ik gewoon twee maten te bestellen.",
            "Omruilen voor een andere maat ging soepel.",
        ),
        "negative": (
            "Wacht nog steeds op mijn terugbetaling, {days} dagen nadat jullie de retour "
            "ontvingen.",
            "Het retourlabel werkte niet en ik moest de klantenservice bellen.",
            "Waarom moet ik zelf de retourzending betalen?",
            "Het retourformulier is onduidelijk en gaf steeds foutmeldingen.",
            "Het inleverpunt voor retouren is ver weg.",
        ),
    },
    "price": {
        "positive": (
            "Goede prijzen en de kortingscode werkte meteen.",
            "Prima prijs-kwaliteitverhouding, goedkoper dan andere winkels.",
            "Gratis verzending vanaf een bepaald bedrag is mooi meegenomen.",
            "De Black Friday-aanbiedingen waren dit jaar echt goed.",
        ),
        "negative": (
            "De prijzen zijn de laatste tijd flink gestegen.",
            "De verzendkosten zijn te hoog voor kleine bestellingen.",
            "Hetzelfde product elders veel goedkoper gevonden.",
            "De kortingscode werd niet geaccepteerd bij het afrekenen.",
        ),
    },
    "app": {
        "positive": (
            "De app is snel en makkelijk in gebruik.",
            "De nieuwe app is geweldig, betalen met één tik is handig.",
            "De meldingen over mijn bestelling in de app zijn erg handig.",
            "In de app vind ik snel wat ik zoek.",
        ),
        "negative": (
            "De app crasht elke keer als ik wil betalen.",
            "Sinds de laatste update kan ik niet meer inloggen in de app.",
            "De app is traag en de zoekresultaten slaan nergens op.",
            "De app logt me steeds uit, heel irritant.",
        ),
    },
    "general": {
        "positive": (
            "Fijne winkel, ik bestel zeker weer!",
            "Alles verliep soepel, bedankt!",
            "Bedankt!",
        ),
        "negative": (
            "Deze keer erg teleurgesteld.",
            "Niet de ervaring die ik van jullie verwacht.",
        ),
    },
}

MACEDONIAN: Final[Templates] = {
    "delivery": {
        "positive": (
            "Многу брза испорака, пратката пристигна за {days} дена.",
            "Пратката пристигна еден ден порано од ветеното и беше добро спакувана.",
            "Следењето на пратката работеше совршено, секогаш знаев каде е нарачката.",
            "Љубезен курир, ја остави пратката точно каде што побарав.",
            "Брза достава како и секогаш, затоа постојано нарачувам тука.",
        ),
        "negative": (
            "Нарачката пристигна дури по {days} дена, многу подоцна од ветеното.",
            "Пратката пристигна оштетена, а кутијата беше целосно мокра.",
            "Според следењето пратката е доставена, но пред вратата немаше ништо.",
            "Испораката двапати беше одложена без никакво објаснување.",
            "Дел од нарачката недостасуваше кога пристигна пратката.",
        ),
    },
    "support": {
        "positive": (
            "{agent} го реши мојот проблем за неколку минути, одлична услуга!",
            "Љубезна и трпелива поддршка, {agent} навистина ме сослуша.",
            "Добив одговор за помалку од еден час, браво!",
            "Операторот на четот веднаш знаеше што треба да се направи. Благодарам, {agent}!",
            "Од поддршката сами ми се јавија да проверат дали сè е во ред.",
        ),
        "negative": (
            "Морав три пати да го објаснувам проблемот на три различни луѓе.",
            "Чекав {days} дена за одговор на мојот мејл.",
            "Одговорот беше шаблонски и воопшто не ми помогна.",
            "{agent} се трудеше, но не можеше ништо да реши.",
            "Никој не ми се јави назад, иако ми беше ветено.",
        ),
    },
    "returns": {
        "positive": (
            "Враќањето беше лесно: ја испечатив етикетата, ја оставив пратката и готово.",
            "Парите ми легнаа на сметка {days} дена откако го вратив производот.",
            "Новиот портал за враќање е многу поедноставен од претходниот.",
            "Бесплатното враќање ми овозможува да нарачам две големини.",
            "Замената за друга големина помина без проблем.",
        ),
        "negative": (
            "Сè уште ги чекам парите, {days} дена откако ја примивте вратената пратка.",
            "Етикетата за враќање не работеше и морав да се јавам во поддршката.",
            "Зошто јас треба да ја платам поштарината за враќање?",
            "Формуларот за враќање е збунувачки и постојано јавува грешка.",
            "Местото за предавање на пратките е премногу далеку од мене.",
        ),
    },
    "price": {
        "positive": (
            "Добри цени, а кодот за попуст работеше веднаш.",
            "Добар однос цена-квалитет, поевтино од другите продавници.",
            "Бесплатната достава над одреден износ е одлична работа.",
            "Понудите за Black Friday годинава беа навистина добри.",
        ),
        "negative": (
            "Цените многу пораснаа во последно време.",
            "Трошоците за достава се превисоки за мали нарачки.",
            "Истиот производ го најдов многу поевтино на друго место.",
            "Кодот за попуст не беше прифатен при плаќањето.",
        ),
    },
    "app": {
        "positive": (
            "Апликацијата е брза и лесна за користење.",
            "Ја обожавам новата апликација, плаќањето со еден допир е супер.",
            "Известувањата за нарачката во апликацијата се многу корисни.",
            "Во апликацијата лесно го наоѓам она што ми треба.",
        ),
        "negative": (
            "Апликацијата паѓа секој пат кога сакам да платам.",
            "Од последното ажурирање не можам да се најавам во апликацијата.",
            "Апликацијата е бавна, а пребарувањето не дава корисни резултати.",
            "Апликацијата постојано ме одјавува, многу е иритантно.",
        ),
    },
    "general": {
        "positive": (
            "Одлична продавница, секако ќе нарачам пак!",
            "Сè помина без проблем, благодарам!",
            "Благодарам!",
        ),
        "negative": (
            "Овој пат искуството беше многу разочарувачко.",
            "Ова не е искуството што го очекувам од вас.",
        ),
    },
}

COMMENTS: Final[dict[str, Templates]] = {
    "en": ENGLISH,
    "sv": SWEDISH,
    "nl": DUTCH,
    "mk": MACEDONIAN,
}


def agent_name(agent: str, language: str) -> str:
    """The agent's name as written in ``language`` (Cyrillic for Macedonian)."""
    if language == "mk":
        return AGENT_NAMES.get(agent, agent)
    return agent
