// Gives the bot user (JENKINS_BOT_USER, created by casc.yaml) the API token held by the
// Compose secret jenkins_bot_token, so the watcher's [sinks.jenkins] token_file and
// Jenkins agree without anyone pasting a token. Runs at every start; idempotent.
// Jenkins' fixed tokens are 34 characters: "11" and 32 hex digits
// (printf '11%s' "$(openssl rand -hex 16)" > docker/secrets/jenkins_bot_token).
import hudson.model.User
import jenkins.security.ApiTokenProperty

def tokenName = 'arlequin-watcher'
def botId = System.getenv('JENKINS_BOT_USER')
def tokenFile = new File('/run/secrets/jenkins_bot_token')
if (!botId || !tokenFile.exists()) {
    println("arlequin-bot-token: JENKINS_BOT_USER or /run/secrets/jenkins_bot_token missing; no token installed")
    return
}
def user = User.getById(botId, false)
if (user == null) {
    println("arlequin-bot-token: user ${botId} does not exist (see casc.yaml); no token installed")
    return
}
def property = user.getProperty(ApiTokenProperty)
def names = property.tokenList*.name
if (names.contains(tokenName)) {
    property.tokenStore.revokeToken(property.tokenList.find { it.name == tokenName }.uuid)
}
property.addFixedNewToken(tokenName, tokenFile.text.trim())
user.save()
println("arlequin-bot-token: API token '${tokenName}' installed for ${botId}")
