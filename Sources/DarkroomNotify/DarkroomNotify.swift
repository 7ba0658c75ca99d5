// DarkroomNotify: notices of ended jobs. The database keeps an outbox (a row per ended job, written by the same
// transaction that ends it); one sender, on the gallery host, delivers each event to every target that wants it.
import Foundation
